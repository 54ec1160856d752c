-- |
-- Module      : System.Evmgr.Timer
-- Copyright   : (c) 2026 the evmgr developers
-- License     : BSD-3-Clause
-- Stability   : experimental
-- Portability : POSIX
--
-- "GHC.Event"'s timer API, and 'registerDelay', for both RTS flavours.
--
-- In the non-threaded RTS, @GHC.Event.getSystemTimerManager@ fails with
-- \"TimerManager requires the threaded runtime\" and
-- @Control.Concurrent.STM.registerDelay@ with \"registerDelay: requires
-- -threaded\". The functions here have the same names and types and work in
-- both flavours, on evmgr's process-wide manager
-- ('System.Evmgr.getSystemManager'), so code written against "GHC.Event"'s
-- timers switches by changing an import:
--
-- @
-- import GHC.Event (getSystemTimerManager, registerTimeout, unregisterTimeout)
--   -- becomes
-- import System.Evmgr.Timer (getSystemTimerManager, registerTimeout, unregisterTimeout)
-- @
--
-- Callbacks run on the manager's loop thread, one at a time, as with
-- "GHC.Event": they must be short and must not block. A timeout fires no
-- earlier than asked, and at most about a millisecond later on an idle
-- machine (the loop wakes on a 1 ms grid, as "GHC.Event"'s timer manager
-- waits in whole milliseconds).
module System.Evmgr.Timer
  ( -- * "GHC.Event"'s timer manager API
    TimerManager
  , getSystemTimerManager
  , TimeoutKey
  , TimeoutCallback
  , registerTimeout
  , updateTimeout
  , unregisterTimeout
    -- * Blocking and STM
  , registerDelay
  , threadDelay
  ) where

import GHC.Conc (TVar, atomically, newTVarIO, writeTVar)

import System.Evmgr (Manager, TimeoutCallback, TimeoutKey, getSystemManager,
                     registerTimeout, sleep, unregisterTimeout, updateTimeout)

-- | A timer manager: an evmgr 'Manager' (so 'registerTimeout' and friends
-- of "System.Evmgr" apply to it as they are).
type TimerManager = Manager

-- | The process-wide manager ('getSystemManager'), started on first use,
-- in either RTS flavour.
getSystemTimerManager :: IO TimerManager
getSystemTimerManager = getSystemManager

-- | A 'TVar' that becomes 'True' after the given number of microseconds,
-- like @Control.Concurrent.STM.registerDelay@ (which needs @-threaded@).
-- Typical use, a timeout on an STM transaction:
--
-- @
-- t <- registerDelay 500000
-- atomically $ (Just \<$\> takeTMVar v) \`orElse\` (readTVar t >>= check >> return Nothing)
-- @
registerDelay :: Int -> IO (TVar Bool)
registerDelay us = do
  t <- newTVarIO False
  mgr <- getSystemManager
  _ <- registerTimeout mgr us (atomically (writeTVar t True))
  return t

-- | Blocks the calling thread for the given number of microseconds, timed
-- by the process-wide manager ('System.Evmgr.sleep' on it). Other threads
-- keep running in both RTS flavours, as with
-- 'Control.Concurrent.threadDelay'.
threadDelay :: Int -> IO ()
threadDelay us = getSystemManager >>= \mgr -> sleep mgr us
