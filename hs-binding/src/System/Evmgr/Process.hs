{-# LANGUAGE ScopedTypeVariables #-}
-- |
-- Module      : System.Evmgr.Process
-- Copyright   : (c) 2026 the evmgr developers
-- License     : BSD-3-Clause
-- Stability   : experimental
-- Portability : POSIX (pidfd on Linux 5.3 and later)
--
-- Waiting for a child process without blocking the runtime.
--
-- In the non-threaded RTS, @System.Process.waitForProcess@ is a blocking
-- @waitpid@ in a foreign call: every Haskell thread stops until the child
-- exits. The 'waitForProcess' here blocks only its caller, in both RTS
-- flavours, and takes the 'ProcessHandle's of the @process@ package as
-- they are:
--
-- * On Linux it opens a /pidfd/ for the child (@pidfd_open@, Linux 5.3),
--   waits for it to become readable on the process-wide evmgr manager
--   ('System.Evmgr.getSystemManager') like any fd, then reaps the child
--   with a non-blocking @waitpid@.
-- * Elsewhere, or when @pidfd_open@ is refused (old kernel, seccomp, out
--   of fds), it falls back to 'WatchSigchld': a @SIGCHLD@ handler (installed
--   once, chaining to a handler installed before it) bumps a counter, and
--   one reaper thread tries a non-blocking @waitpid@ of every child waited
--   for this way whenever the counter changes, and every 100 ms in any
--   case. Setting the
--   environment variable @EVMGR_PROCESS_WATCH=sigchld@ forces the fallback.
--
-- == No double reap, no lost status
--
-- A child is reaped only by the code that holds its handle's @waitpidLock@
-- (the lock the @process@ package's own @waitForProcess@ holds across its
-- blocking @waitpid@, and its @getProcessExitCode@ takes) and then its
-- handle's 'MVar', and whoever reaps stores the exit code in the handle
-- ('ClosedHandle') before releasing them. Every reaper, ours or
-- @process@'s, first looks for a stored code. So after this module's
-- 'waitForProcess' returns, @System.Process.waitForProcess@ and
-- @getProcessExitCode@ return the same code without calling @waitpid@,
-- and if @process@ reaped first, this module returns what it stored. The
-- pidfd is opened under the same locks while the handle is still open, so
-- it names our child (the pid cannot have been reused: an unreaped child
-- keeps its pid).
--
-- Not covered: a child reaped behind @process@'s back (@waitpid(-1)@ in
-- other code, or @SIGCHLD@ set to @SIG_IGN@, which makes the kernel reap
-- children itself): then, as for @process@, 'waitForProcess' throws an
-- 'IOError' (@ECHILD@).
module System.Evmgr.Process
  ( -- * Waiting for a child
    waitForProcess
  , getProcessExitCode
    -- * Choosing the mechanism
  , Watch (..)
  , waitForProcessWith
  , defaultWatch
  ) where

import Control.Concurrent.MVar (withMVar)
import Control.Concurrent (forkIO)
import Control.Exception (SomeException, bracket, finally, mask_, throwIO, try)
import Control.Monad (void, when)
import Data.IORef (IORef, atomicModifyIORef', newIORef, readIORef)
import qualified Data.IntMap.Strict as IM
import Foreign.C.Error (Errno (..), errnoToIOError)
import Foreign.C.Types (CInt (..))
import Foreign.Marshal.Alloc (alloca)
import Foreign.Ptr (Ptr)
import Foreign.Storable (peek)
import GHC.Conc (TVar, atomically, labelThread, newTVarIO, orElse, readTVar,
                 readTVarIO, retry, writeTVar)
import System.Environment (lookupEnv)
import System.Exit (ExitCode (..))
import System.IO.Unsafe (unsafePerformIO)
import System.Posix.Signals (Handler (..), installHandler, sigCHLD)
import System.Posix.Types (Fd (..))
import System.Process.Internals (ProcessHandle (..), ProcessHandle__ (..),
                                 endDelegateControlC, modifyProcessHandle)

import qualified Control.Concurrent.MVar as MV
import System.Evmgr (getSystemManager, registerTimeout, unregisterTimeout,
                     waitRead)

foreign import ccall unsafe "evmgr_hs_pidfd_open"
  c_pidfd_open :: CInt -> IO CInt

foreign import ccall unsafe "evmgr_hs_reap"
  c_reap :: CInt -> Ptr CInt -> IO CInt

foreign import ccall unsafe "close"
  c_close :: CInt -> IO CInt

-- | How 'waitForProcessWith' learns that the child exited.
data Watch
  = WatchPidfd
    -- ^ a pidfd on the process-wide manager (Linux 5.3 and later; falls
    -- back to 'WatchSigchld' by itself where @pidfd_open@ fails)
  | WatchSigchld
    -- ^ a @SIGCHLD@ handler, and a @waitpid@ poll every 100 ms
  deriving (Eq, Show, Read, Enum, Bounded)

-- | 'WatchPidfd', unless the environment variable @EVMGR_PROCESS_WATCH@ is
-- @sigchld@ (read once, at the first call).
defaultWatch :: Watch
defaultWatch = unsafePerformIO $ do
  v <- lookupEnv "EVMGR_PROCESS_WATCH"
  return (if v == Just "sigchld" then WatchSigchld else WatchPidfd)
{-# NOINLINE defaultWatch #-}

-- | Waits for the child to exit and returns its exit code, blocking only
-- the calling thread (in both RTS flavours). A child killed by signal @n@
-- gives @'ExitFailure' (-n)@, as @System.Process.waitForProcess@ reports
-- it. Returns at once if the child was already reaped through its handle
-- (by this module or by @process@). Interruptible: 'System.Timeout.timeout'
-- and 'Control.Concurrent.killThread' work, and leave the child to a later
-- wait.
waitForProcess :: ProcessHandle -> IO ExitCode
waitForProcess = waitForProcessWith defaultWatch

-- | 'waitForProcess' with a chosen mechanism (tests use it to cover both).
waitForProcessWith :: Watch -> ProcessHandle -> IO ExitCode
waitForProcessWith w ph = do
  r <- reap ph
  case r of
    Just e -> return e
    Nothing -> case w of
      WatchSigchld -> viaSigchld ph
      WatchPidfd -> do
        o <- openPidfd ph
        case o of
          Reaped e -> return e
          Refused -> viaSigchld ph
          Opened fd -> bracket (return fd) (\(Fd f) -> c_close f) $ \_ ->
            viaPidfd fd
  where
    viaPidfd fd = do
      mgr <- getSystemManager
      waitRead mgr fd
      r <- reap ph
      case r of
        Just e -> return e
        Nothing -> viaPidfd fd  -- not expected: a readable pidfd means exited

-- | Returns the exit code if the child has exited (reaping it), 'Nothing'
-- if it is still running; never blocks. Like
-- @System.Process.getProcessExitCode@ and under the same locks, so the two
-- can be mixed freely.
getProcessExitCode :: ProcessHandle -> IO (Maybe ExitCode)
getProcessExitCode = reap

data Opened = Opened Fd | Reaped ExitCode | Refused

-- | Opens a pidfd for the child under its handle's locks (so that the pid
-- is still our unreaped child).
openPidfd :: ProcessHandle -> IO Opened
openPidfd ph = withMVar (waitpidLock ph) $ \() ->
  modifyProcessHandle ph $ \p_ -> case p_ of
    ClosedHandle e -> return (p_, Reaped e)
    _ -> do
      let pid = phdlProcessHandle p_
      fd <- c_pidfd_open (fromIntegral pid)
      -- ENOSYS, EPERM (seccomp), EMFILE...: the fallback. (ESRCH, the
      -- child reaped behind process's back, then ends in reap's ECHILD.)
      return (p_, if fd >= 0 then Opened (Fd fd) else Refused)

-- | The one place this module reaps: under @waitpidLock@, then the
-- handle's lock, as @process@ does; stores the code in the handle.
reap :: ProcessHandle -> IO (Maybe ExitCode)
reap ph = mask_ $ do
  (r, wasOpen) <- withMVar (waitpidLock ph) $ \() ->
    modifyProcessHandle ph $ \p_ -> case p_ of
      ClosedHandle e -> return (p_, (Just e, False))
      _ -> alloca $ \out -> do
        let pid = phdlProcessHandle p_
        rc <- c_reap (fromIntegral pid) out
        if rc == 1
          then do
            code <- peek out
            let e = if code == 0 then ExitSuccess
                    else ExitFailure (fromIntegral code)
            return (ClosedHandle e, (Just e, True))
          else if rc == 0
            then return (p_, (Nothing, False))
            else ioError (errnoToIOError "evmgr.waitForProcess"
                            (Errno (negate rc)) Nothing Nothing)
  case r of
    Just e | wasOpen && mb_delegate_ctlc ph -> endDelegateControlC e
    _ -> return ()
  return r

------------------------------------------------------------------------------
-- SIGCHLD fallback

-- | Bumped by the SIGCHLD handler.
sigchldCount :: TVar Int
sigchldCount = unsafePerformIO (newTVarIO 0)
{-# NOINLINE sigchldCount #-}

sigchldInstalled :: MV.MVar Bool
sigchldInstalled = unsafePerformIO (MV.newMVar False)
{-# NOINLINE sigchldInstalled #-}

-- | Installs the SIGCHLD handler and starts the reaper thread, once. A handler installed before (with
-- "System.Posix.Signals") still runs, after ours.
ensureSigchld :: IO ()
ensureSigchld = MV.modifyMVar_ sigchldInstalled $ \done -> do
  when (not done) $ do
    t <- forkIO reaper
    labelThread t "evmgr SIGCHLD reaper"
    let bump = atomically (readTVar sigchldCount >>= writeTVar sigchldCount . (+ 1))
    rec_ <- MV.newEmptyMVar
    old <- installHandler sigCHLD (Catch (bump >> MV.readMVar rec_ >>= id)) Nothing
    MV.putMVar rec_ $ case old of
      Catch a -> a
      CatchOnce a -> a
      _ -> return ()
  return True

-- | A waiter of the fallback: its handle and where its result goes.
data Waiter = Waiter ProcessHandle (MV.MVar (Either SomeException ExitCode))

-- | The children waited for through the fallback, by a key of the wait.
sigchldWaiters :: IORef (IM.IntMap Waiter)
sigchldWaiters = unsafePerformIO (newIORef IM.empty)
{-# NOINLINE sigchldWaiters #-}

sigchldNext :: IORef Int
sigchldNext = unsafePerformIO (newIORef 0)
{-# NOINLINE sigchldNext #-}

-- | Waits through the SIGCHLD fallback. One reaper thread (started with the
-- handler) does the work: on each change of the counter, and every 100 ms,
-- it tries a non-blocking reap of every registered child and hands each
-- reaped one's code to its waiter. (A waiter per child, each woken by
-- every SIGCHLD, made a thousand children cost a million reap attempts
-- and stalled a non-threaded program for hundreds of milliseconds.) The
-- waiter registers before a second reap attempt of its own, so an exit
-- after that attempt is the reaper's to see.
viaSigchld :: ProcessHandle -> IO ExitCode
viaSigchld ph = do
  ensureSigchld
  res <- MV.newEmptyMVar
  k <- atomicModifyIORef' sigchldNext (\n -> (n + 1, n))
  let unregister = atomicModifyIORef' sigchldWaiters (\ws -> (IM.delete k ws, ()))
  r <- (do atomicModifyIORef' sigchldWaiters (\ws -> (IM.insert k (Waiter ph res) ws, ()))
           again <- try (reap ph)
           case again of
             Right (Just e) -> return (Right e)
             Left ex -> return (Left ex)
             Right Nothing -> MV.takeMVar res)
       `finally` unregister
  either throwIO return r

-- | The reaper thread's loop.
reaper :: IO ()
reaper = do
  c <- readTVarIO sigchldCount
  ws <- readIORef sigchldWaiters
  mapM_ tryOne (IM.elems ws)
  -- The 100 ms poll: a timeout per round, cancelled after the round's
  -- wait (a registerDelay per round left one pending per signal).
  mgr <- getSystemManager
  t <- newTVarIO False
  k <- registerTimeout mgr 100000 (atomically (writeTVar t True))
  atomically $ (readTVar sigchldCount >>= \c' -> when (c' == c) retry)
      `orElse` (readTVar t >>= \fired -> when (not fired) retry)
  unregisterTimeout mgr k
  reaper
  where
    tryOne (Waiter ph res) = do
      -- Skip a handle whose waitpidLock is held (process's own blocking
      -- waitForProcess): that wait stores the code; a later round sees it.
      r <- try (reapUnlessBusy ph)
      case r of
        Right Nothing -> return ()
        Right (Just e) -> void (MV.tryPutMVar res (Right e))
        Left ex -> void (MV.tryPutMVar res (Left ex))

-- | 'reap', or 'Nothing' at once if the handle's waitpidLock is taken.
reapUnlessBusy :: ProcessHandle -> IO (Maybe ExitCode)
reapUnlessBusy ph = do
  busy <- MV.isEmptyMVar (waitpidLock ph)
  if busy then return Nothing else reap ph
