-- | evmgr-timer-switch: GHC.Event's timer API and registerDelay in a
-- non-threaded program. With `import GHC.Event` this program fails with
-- "TimerManager requires the threaded runtime"; with the import below it
-- runs in either RTS flavour. Only the import differs.
module Main (main) where

import Control.Concurrent (newEmptyMVar, putMVar, takeMVar)
import Control.Monad (unless)
import GHC.Conc (atomically, orElse, readTVar, retry)
import GHC.Clock (getMonotonicTimeNSec)
import System.Evmgr.Timer (getSystemTimerManager, registerDelay,
                           registerTimeout, unregisterTimeout, updateTimeout)

main :: IO ()
main = do
  t0 <- getMonotonicTimeNSec
  let stamp s = do
        t <- getMonotonicTimeNSec
        putStrLn (show ((t - t0) `div` 1000000) ++ " ms: " ++ s)
  tm <- getSystemTimerManager
  done <- newEmptyMVar
  k1 <- registerTimeout tm 300000 (stamp "timeout moved from 300 ms to 50 ms")
  k2 <- registerTimeout tm 100000 (stamp "never printed: unregistered")
  _ <- registerTimeout tm 150000 (stamp "timeout at 150 ms" >> putMVar done ())
  updateTimeout tm k1 50000
  unregisterTimeout tm k2
  takeMVar done
  -- registerDelay as the timeout of an STM transaction.
  slow <- registerDelay 10000000
  fast <- registerDelay 100000
  r <- atomically $ (readTVar slow >>= \b -> if b then return "slow" else retry)
             `orElse` (readTVar fast >>= \b -> if b then return "fast" else retry)
  stamp ("registerDelay: " ++ r ++ " won")
  unless (r == "fast") (error "wrong delay")
