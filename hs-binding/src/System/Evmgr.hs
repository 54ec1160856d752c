{-# LANGUAGE BangPatterns #-}
{-# LANGUAGE LambdaCase #-}
{-# LANGUAGE ScopedTypeVariables #-}
-- |
-- Module      : System.Evmgr
-- Copyright   : (c) 2026 the evmgr developers
-- License     : BSD-3-Clause
-- Stability   : experimental
-- Portability : POSIX (epoll, kqueue or poll(2))
--
-- A Haskell binding to evmgr, a C++ event manager (fd readiness and timers
-- on epoll, kqueue or poll(2)), shaped like "GHC.Event"'s manager:
--
-- @
-- mgr <- 'new'
-- _   <- 'forkLoop' mgr (\_ -> return ())  -- 'loop': callbacks until 'shutdown'
-- key <- 'registerFd' mgr (\\k e -> ...) fd 'evtRead' 'MultiShot'
-- _   <- 'registerTimeout' mgr 500000 (putStrLn \"half a second later\")
-- ...
-- 'unregisterFd' mgr key
-- 'shutdown' mgr
-- @
--
-- == Threads and RTS flavours
--
-- Every function may be called from any Haskell thread. Callbacks run on the
-- thread inside 'loop' or 'step', one at a time, after the manager's lock has
-- been released: a callback may register and unregister freely, but must not
-- block for long (it holds up every other callback) and must not call
-- 'loop', 'step' or the blocking helpers ('waitRead', 'waitWrite', 'sleep'),
-- which wait for the loop it is running on.
--
-- * Threaded RTS (@-threaded@): the loop waits inside @evmgr_poll@ in an
--   @interruptible@ (that is, @safe@) foreign call, so other Haskell threads
--   keep running; registrations from them take effect in the running wait
--   (the core wakes itself, see @ffi/evmgr.h@), 'shutdown' wakes it with
--   @evmgr_wakeup@, and 'Control.Concurrent.killThread' interrupts it. The
--   core itself bounds a wait while fds are registered, to notice fds closed
--   behind its back (@evmgr_set_closed_fd_check_interval@).
--
-- * Non-threaded RTS: a foreign call would stop every Haskell thread, so the
--   loop never blocks in C. It polls with a zero timeout, then waits in
--   Haskell: 'Control.Concurrent.threadWaitRead' on @evmgr_pollable_fd@,
--   bounded by @evmgr_next_deadline_ns@ (the next timer, or the core's next
--   closed-fd check); registrations made while it waits call @evmgr_wakeup@
--   to end the wait. The poll(2) back-end has no pollable fd, so there the loop sleeps
--   1 ms at a time instead (events are seen up to 1 ms late). The
--   non-threaded RTS waits with select(2): a pollable fd of 1024 or more
--   also falls back to 1 ms sleeps.
--
-- == Errors
--
-- * Registering a closed or invalid fd throws an 'IOError' naming the fd; an
--   fd closed while registered is reported to its callback with 'evtClose'
--   and the registration ends.
-- * An exception thrown by a callback does not stop the loop: it is passed
--   to the handler set with 'setExceptionHandler' (by default printed to
--   stderr).
-- * After 'shutdown', every operation except 'shutdown', 'unregisterFd',
--   'unregisterTimeout' (no-ops then) and the introspection functions throws
--   'ManagerShutDown'.
module System.Evmgr
  ( -- * Managers
    Manager
  , Backend (..)
  , new
  , newWith
  , backend
  , backendAvailable
    -- * The process-wide manager
  , getSystemManager
    -- * Running the loop
  , loop
  , forkLoop
  , step
  , shutdown
  , isShutDown
    -- * Events
  , Event
  , evtRead
  , evtWrite
  , evtClose
  , eventIs
  , Lifetime (..)
    -- * fd registrations
  , FdKey
  , keyFd
  , FdCallback
  , registerFd
  , unregisterFd
    -- * Timeouts
  , TimeoutKey
  , TimeoutCallback
  , registerTimeout
  , updateTimeout
  , unregisterTimeout
    -- * Blocking helpers
    -- | These block the calling thread until the event, so they need a
    -- 'loop' running in another thread. If the manager is shut down while
    -- they wait, they throw 'ManagerShutDown'.
  , waitRead
  , waitWrite
  , sleep
    -- * Errors
  , EvmgrError (..)
  , setExceptionHandler
  , defaultExceptionHandler
    -- * Introspection
  , pendingCount
  , callbackCount
  ) where

import Control.Concurrent (ThreadId, forkIO, forkOn, getNumCapabilities, myThreadId,
                           rtsSupportsBoundThreads, threadCapability,
                           threadDelay, threadWaitRead)
import GHC.Conc (labelThread)
import System.IO.Unsafe (unsafePerformIO)
import Control.Concurrent.MVar
import Control.Exception
import Control.Monad (unless, void, when)
import Data.Bits ((.&.), (.|.))
import Data.Int (Int64)
import Data.IORef
import Data.List (intercalate)
import Data.Word (Word32, Word64)
import Foreign.C.Error (Errno (..), eBADF, eINTR, eINVAL,
                        errnoToIOError)
import Foreign.C.Types (CInt)
import Foreign.ForeignPtr (ForeignPtr, mallocForeignPtr, mallocForeignPtrBytes,
                           withForeignPtr)
import GHC.ForeignPtr (unsafeWithForeignPtr)
import Foreign.Marshal.Alloc (alloca)
import Foreign.Ptr (Ptr, WordPtr (..))
import Foreign.Storable (peek)
import System.IO (hPutStrLn, stderr)
import System.Posix.Types (Fd (..))
import System.Timeout (timeout)

import System.Evmgr.FFI
import qualified System.Evmgr.Table as T
import qualified System.Evmgr.TimerQueue as TQ

------------------------------------------------------------------------------
-- Types

-- | An evmgr back-end.
data Backend
  = Auto    -- ^ the best one available: io_uring unless the kernel refuses
            --   it, else epoll, else kqueue, else poll
  | Epoll   -- ^ Linux epoll
  | Poll    -- ^ portable poll(2), O(n) per wait
  | Kqueue  -- ^ BSD and macOS kqueue
  | IoUring -- ^ Linux io_uring (5.11+), unless refused (a seccomp profile,
            --   @kernel.io_uring_disabled@): 'backendAvailable' says
  deriving (Eq, Ord, Show, Read, Enum, Bounded)

toCBackend :: Backend -> CInt
toCBackend = \case
  Auto -> backendAuto
  Epoll -> backendEpoll
  Poll -> backendPoll
  Kqueue -> backendKqueue
  IoUring -> backendIoUring

fromCBackend :: CInt -> Backend
fromCBackend c
  | c == backendEpoll = Epoll
  | c == backendPoll = Poll
  | c == backendKqueue = Kqueue
  | c == backendIoUring = IoUring
  | otherwise = Auto

-- | A set of fd events, as in "GHC.Event". Combine with '<>'.
newtype Event = Event Word32
  deriving (Eq)

instance Semigroup Event where
  Event a <> Event b = Event (a .|. b)

instance Monoid Event where
  mempty = Event 0

instance Show Event where
  show e = "[" ++ intercalate "," [n | (n, b) <- names, e `eventIs` b] ++ "]"
    where names = [("evtRead", evtRead), ("evtWrite", evtWrite),
                   ("evtClose", evtClose)]

-- | The fd is readable (or at end of file).
evtRead :: Event
evtRead = Event evRead

-- | The fd is writable.
evtWrite :: Event
evtWrite = Event evWrite

-- | Only ever delivered, never registered for: the fd hit an error or
-- hang-up (then 'evtRead' and 'evtWrite' are set too, for the interest that
-- was registered), or it was found closed while registered (then the
-- registration is gone).
evtClose :: Event
evtClose = Event (evError .|. evClosed)

-- | Whether the two sets share an event.
eventIs :: Event -> Event -> Bool
eventIs (Event a) (Event b) = a .&. b /= 0

-- | How long an fd registration lasts, as in "GHC.Event".
data Lifetime
  = OneShot    -- ^ delivered once, then removed
  | MultiShot  -- ^ level-triggered until 'unregisterFd'
  deriving (Eq, Show, Read, Enum, Bounded)

-- | Names an fd registration. Keys are never reused: a stale key (already
-- fired, unregistered, or from before its fd was closed and the number
-- reused) never touches another registration.
data FdKey = FdKey
  { keyFd :: {-# UNPACK #-} !Fd      -- ^ the registered fd
  , keyToken :: {-# UNPACK #-} !Word -- not exported: the callback table's key
  , keyC :: {-# UNPACK #-} !Word64   -- not exported: the C core's key
  } deriving (Eq, Ord, Show)

-- | Names a timeout. Keys are never reused within a manager.
newtype TimeoutKey = TimeoutKey Int
  deriving (Eq, Ord, Show)

-- | Called on the loop's thread with the registration's key and the events
-- that occurred.
type FdCallback = FdKey -> Event -> IO ()

-- | Called on the loop's thread when the timeout expires.
type TimeoutCallback = IO ()

-- | Misuse of a manager.
data EvmgrError
  = ManagerShutDown String
    -- ^ the named operation was used after 'shutdown' (or a blocking helper
    -- was waiting when it happened)
  | LoopAlreadyRunning String
    -- ^ 'loop' or 'step' (named) was called while another 'loop' or 'step'
    -- was running on the manager, possibly from inside a callback
  deriving (Eq, Show)

instance Exception EvmgrError

data Callback
  = FdCB !Lifetime FdCallback (IO ())
    -- ^ the last action runs if the manager shuts down first

data State
  = Open !(Ptr CManager)
  | Closing  -- ^ 'shutdown' was called while a loop was running
  | Closed

-- | An event manager: a C evmgr manager plus the Haskell callbacks of its
-- registrations. Create one with 'new', run it with 'loop', end it with
-- 'shutdown' (which frees the C side; a manager never shut down keeps its
-- kernel objects until the program exits).
data Manager = Manager
  { mgrState :: !(MVar State)
    -- ^ guards the C pointer against 'shutdown' freeing it mid-call
  , mgrPtr :: !(Ptr CManager)
    -- ^ used directly only by the holder of 'mgrLoop'
  , mgrOpen :: !(IORef Bool)
    -- ^ False once 'shutdown' started: stops dispatch mid-batch
  , mgrLoop :: !(MVar ())
    -- ^ held by the thread in 'loop' or 'step', and by whoever frees
  , mgrTable :: !(T.Table Callback)
    -- ^ token -> fd callback; the C side only ever sees the token. Used
    -- only with 'mgrState' held.
  , mgrTimers :: !(IORef TQ.Queue)
    -- ^ the timeouts, changed only with 'atomicModifyIORef'' (Note
    -- [Timeouts in Haskell])
  , mgrHandler :: !(IORef (SomeException -> IO ()))
  , mgrBuf :: !(ForeignPtr CEvent)
    -- ^ evmgr_poll's array; used only by the holder of 'mgrLoop'
  , mgrKeyOut :: !(ForeignPtr CKey)
    -- ^ the key out-parameter of registrations; used only under 'mgrState'
  , mgrBackend :: !Backend
  , mgrPollFd :: !Int
  , mgrWaiting :: !(IORef Bool)
    -- ^ the loop is about to wait or waiting: wake it on changes (Note
    -- [Waking the non-threaded loop], Note [Timeouts in Haskell])
  }

instance Eq Manager where
  a == b = mgrState a == mgrState b

bufCapacity :: Int
bufCapacity = 256

------------------------------------------------------------------------------
-- Lifetime

-- | @'newWith' 'Auto'@.
new :: IO Manager
new = newWith Auto

-- | Creates a manager on the given back-end. Throws an 'IOError' if the
-- back-end is not available here (see 'backendAvailable') or the kernel
-- object cannot be created.
newWith :: Backend -> IO Manager
newWith b = do
  p <- alloca $ \out -> do
    r <- c_evmgr_new (toCBackend b) out
    when (r /= 0) $
      throwIO (errnoToIOError ("evmgr.new " ++ show b) (Errno r) Nothing Nothing)
    peek out
  actual <- fromCBackend <$> c_evmgr_backend_of p
  pfd <- c_evmgr_pollable_fd p
  Manager
    <$> newMVar (Open p)
    <*> pure p
    <*> newIORef True
    <*> newMVar ()
    <*> T.new
    <*> newIORef TQ.empty
    <*> newIORef defaultExceptionHandler
    <*> mallocForeignPtrBytes (bufCapacity * eventSize)
    <*> mallocForeignPtr
    <*> pure actual
    <*> pure (fromIntegral pfd)
    <*> newIORef False

-- | The back-end in use (never 'Auto').
backend :: Manager -> Backend
backend = mgrBackend

-- | Whether a back-end can be created on this platform.
backendAvailable :: Backend -> IO Bool
backendAvailable b = (/= 0) <$> c_evmgr_backend_available (toCBackend b)

-- | Stops the manager: a running 'loop' returns after the callback it is
-- running (if any), pending registrations are dropped without being called
-- (threads in 'waitRead', 'waitWrite' and 'sleep' get 'ManagerShutDown'),
-- and the C manager is freed. Callable from any thread, including from a
-- callback; calling it again does nothing.
shutdown :: Manager -> IO ()
shutdown mgr = do
  writeIORef (mgrOpen mgr) False
  modifyMVar_ (mgrState mgr) $ \case
    Open p -> do
      void (c_evmgr_wakeup p)
      return Closing
    s -> return s
  ts <- TQ.modify (mgrTimers mgr) TQ.close
  mapM_ (quietly . TQ.tAbort) ts
  tryFinalize mgr

-- | Frees the C side if no loop holds it; otherwise the loop does when it
-- lets go (see 'withLoop').
tryFinalize :: Manager -> IO ()
tryFinalize mgr = mask_ $ do
  got <- tryTakeMVar (mgrLoop mgr)
  case got of
    Nothing -> return ()
    Just () -> finalize mgr `finally` putMVar (mgrLoop mgr) ()

finalize :: Manager -> IO ()
finalize mgr = do
  old <- modifyMVar (mgrState mgr) $ \case
    Closing -> do
      c_evmgr_free (mgrPtr mgr)
      cbs <- T.clear (mgrTable mgr)
      return (Closed, cbs)
    s -> return (s, [])
  mapM_ (\(FdCB _ _ a) -> quietly a) old

-- | The process-wide manager, created (on the best back-end) with a 'loop'
-- in its own thread the first time it is asked for; the same in every
-- later call. "System.Evmgr.Timer" and "System.Evmgr.Process" use it. Do not
-- 'shutdown' it: every user of it would get 'ManagerShutDown'. A callback
-- exception that escapes the handler restarts its loop.
getSystemManager :: IO Manager
getSystemManager = do
  m <- readIORef systemManagerRef
  case m of
    Just mgr -> return mgr
    Nothing -> modifyMVar systemManagerLock $ \() -> do
      m' <- readIORef systemManagerRef
      mgr <- case m' of
        Just mgr -> return mgr
        Nothing -> do
          mgr <- new
          t <- forkLoopThread (runSystem mgr)
          labelThread t "evmgr system manager"
          writeIORef systemManagerRef (Just mgr)
          return mgr
      return ((), mgr)
  where
    runSystem mgr = do
      r <- try (loop mgr)
      case r of
        Right () -> return ()
        Left (e :: SomeException) -> do
          open <- readIORef (mgrOpen mgr)
          when open $ do
            hPutStrLn stderr ("evmgr: system manager loop restarted after: "
                              ++ displayException e)
            runSystem mgr

-- | @forkLoop mgr andThen@ runs @'loop' mgr@ in a new thread and then
-- @andThen@ with how it ended, as @'Control.Concurrent.forkFinally' ('loop'
-- mgr) andThen@ does, but placed well for the threaded RTS: with two or more
-- capabilities, on the capability after the caller's, so that a busy thread
-- on the caller's capability (the main thread registering timeouts, say)
-- does not delay the loop each time its wait returns (Note [The loop's
-- capability]).
forkLoop :: Manager -> (Either SomeException () -> IO ()) -> IO ThreadId
forkLoop mgr andThen =
  mask $ \restore -> forkLoopThread (try (restore (loop mgr)) >>= andThen)

-- Note [The loop's capability]
-- ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
-- In the threaded RTS the loop waits in a safe foreign call, which gives its
-- capability away. When the wait returns, the loop's OS thread needs that
-- capability back; if a busy Haskell thread holds it (typically the bound
-- main thread, registering timeouts), the running thread keeps it until it
-- next passes through the scheduler: the next GC or context-switch tick, so
-- the loop and every callback stall for up to tens of milliseconds, again
-- and again (measured: timeouts at 0.2-0.3x GHC.Event's rate at -N2 in the
-- runs where the loop shared capability 0 with main, ~1x when the RTS had
-- moved it to capability 1). So with two or more capabilities the system
-- manager's loop is pinned (forkOn) to the capability after its creator's,
-- as GHC.Event pins its managers, and so is the loop of 'forkLoop'; with one
-- capability it is a plain thread.
forkLoopThread :: IO () -> IO ThreadId
forkLoopThread act = do
  n <- getNumCapabilities
  if n < 2
    then forkIO act
    else do
      (mine, _) <- threadCapability =<< myThreadId
      forkOn ((mine + 1) `mod` n) act

systemManagerRef :: IORef (Maybe Manager)
systemManagerRef = unsafePerformIO (newIORef Nothing)
{-# NOINLINE systemManagerRef #-}

systemManagerLock :: MVar ()
systemManagerLock = unsafePerformIO (newMVar ())
{-# NOINLINE systemManagerLock #-}

-- | Whether 'shutdown' has been called.
isShutDown :: Manager -> IO Bool
isShutDown mgr = not <$> readIORef (mgrOpen mgr)

-- | Runs an action with the C pointer, or throws 'ManagerShutDown'. The
-- action runs masked (it is short and never blocks).
withOpen :: Manager -> String -> (Ptr CManager -> IO a) -> IO a
withOpen mgr what act = withMVarMasked (mgrState mgr) $ \case
  Open p -> act p
  _ -> throwIO (ManagerShutDown what)

-- | Like 'withOpen' but does nothing after shutdown.
whenOpen :: Manager -> (Ptr CManager -> IO ()) -> IO ()
whenOpen mgr act = withMVarMasked (mgrState mgr) $ \case
  Open p -> act p
  _ -> return ()

-- | Non-threaded RTS: ends the loop's Haskell-side wait so that it sees a
-- change (the core may apply interest changes only inside evmgr_poll).
-- Called with the state lock held, after the change (Note [Waking the
-- non-threaded loop]).
wakeIfWaiting :: Manager -> Ptr CManager -> IO ()
wakeIfWaiting mgr p = unless rtsSupportsBoundThreads $ do
  w <- readIORef (mgrWaiting mgr)
  when w $ void (c_evmgr_wakeup p)

------------------------------------------------------------------------------
-- Callbacks table

-- | Sets the handler of exceptions thrown by callbacks. It runs on the
-- loop's thread; if it throws, the exception propagates out of 'loop' or
-- 'step' (so @'setExceptionHandler' mgr 'throwIO'@ makes callback
-- exceptions fatal). Asynchronous exceptions are never passed to it.
setExceptionHandler :: Manager -> (SomeException -> IO ()) -> IO ()
setExceptionHandler mgr = writeIORef (mgrHandler mgr)

-- | Prints @evmgr: callback failed: \<exception\>@ on stderr.
defaultExceptionHandler :: SomeException -> IO ()
defaultExceptionHandler e =
  hPutStrLn stderr ("evmgr: callback failed: " ++ displayException e)

------------------------------------------------------------------------------
-- fd registrations

-- | Registers interest in 'evtRead' and/or 'evtWrite' on an fd and returns
-- the registration's key; the callback runs on the loop's thread each time
-- (or, for 'OneShot', the first time) one of them is ready, or when the fd
-- hits an error or is found closed ('evtClose', which ends the
-- registration). Several registrations may name the same fd.
--
-- Throws an 'IOError' naming the fd if it is closed or invalid (@EBADF@) or
-- the event set has neither 'evtRead' nor 'evtWrite' (@EINVAL@), and
-- 'ManagerShutDown' after 'shutdown'.
registerFd :: Manager -> FdCallback -> Fd -> Event -> Lifetime -> IO FdKey
registerFd mgr cb fd ev lt = registerFdWith mgr cb (return ()) fd ev lt

registerFdWith
  :: Manager -> FdCallback -> IO () -> Fd -> Event -> Lifetime -> IO FdKey
registerFdWith mgr cb onAbort fd@(Fd cfd) (Event evs) lt =
  withOpen mgr "registerFd" $ \p -> do
    let interest = evs .&. (evRead .|. evWrite)
        flags = case lt of
          OneShot -> flagOneShot
          MultiShot -> flagPersistent
    when (interest == 0) $ throwIO (fdError "registerFd" fd eINVAL)
    -- Into the table before the C call: the event may be polled by the loop
    -- before evmgr_fd_register even returns (the loop then waits for the
    -- lock we hold to look the token up).
    tok <- T.insert (mgrTable mgr) (FdCB lt cb onAbort)
    unsafeWithForeignPtr (mgrKeyOut mgr) $ \out -> do
      r <- c_evmgr_fd_register p cfd interest flags (WordPtr tok) out
      if r /= 0
        then do
          _ <- T.delete (mgrTable mgr) tok
          throwIO (fdError "registerFd" fd (Errno r))
        else do
          k <- peek out
          wakeIfWaiting mgr p
          return (FdKey fd tok k)

-- | Removes an fd registration: its callback will not be called after this
-- returns (unless it is running right now on the loop's thread). A stale
-- key (already unregistered, one-shot already fired, after 'shutdown') is
-- ignored.
unregisterFd :: Manager -> FdKey -> IO ()
unregisterFd mgr k = whenOpen mgr $ \p -> do
  live <- T.delete (mgrTable mgr) (keyToken k)
  when live $ void (c_evmgr_fd_unregister p (keyC k))

fdError :: String -> Fd -> Errno -> IOError
fdError what (Fd fd) e =
  errnoToIOError ("evmgr." ++ what ++ ": fd " ++ show fd) e Nothing Nothing

------------------------------------------------------------------------------
-- Timeouts

usToNs :: Int -> Int64
usToNs us = c_evmgr_ns_from_us (fromIntegral us)

-- | Runs the callback on the loop's thread once, when the given number of
-- microseconds has passed (0 or negative: at the next poll). Timeouts with
-- equal deadlines fire in the order they were registered; none fires early.
-- Throws 'ManagerShutDown' after 'shutdown'.
--
-- Costs no lock and no C call: the timeout goes into a Haskell priority
-- queue with one 'atomicModifyIORef'' (Note [Timeouts in Haskell]).
registerTimeout :: Manager -> Int -> TimeoutCallback -> IO TimeoutKey
registerTimeout mgr us cb = registerTimeoutWith mgr us cb (return ())

registerTimeoutWith :: Manager -> Int -> TimeoutCallback -> IO () -> IO TimeoutKey
registerTimeoutWith mgr us cb onAbort = do
  dl <- deadlineIn us
  r <- TQ.modify (mgrTimers mgr) (TQ.insert dl cb onAbort)
  case r of
    Nothing -> throwIO (ManagerShutDown "registerTimeout")
    Just (k, first) -> do
      when first (wakeForTimer mgr)
      return (TimeoutKey k)

-- | The deadline (evmgr_now_ns clock) @us@ microseconds from now, clamped.
deadlineIn :: Int -> IO Int64
deadlineIn us = do
  now <- c_evmgr_now_ns
  let ns = usToNs us
  return $! if ns >= maxBound - now then maxBound else now + ns

-- | Wakes the loop if it is waiting (or about to) and a timeout became the
-- earliest (Note [Timeouts in Haskell]). Rare: the lock it takes (to keep
-- the C manager from being freed under the call) is not on the common path.
wakeForTimer :: Manager -> IO ()
wakeForTimer mgr = do
  w <- readIORef (mgrWaiting mgr)
  when w $ whenOpen mgr (void . c_evmgr_wakeup)

-- | Moves a pending timeout to fire the given number of microseconds from
-- now. Does nothing if it already fired or was unregistered; throws
-- 'ManagerShutDown' after 'shutdown'.
updateTimeout :: Manager -> TimeoutKey -> Int -> IO ()
updateTimeout mgr (TimeoutKey k) us = do
  dl <- deadlineIn us
  r <- TQ.modify (mgrTimers mgr) (TQ.update k dl)
  case r of
    Nothing -> throwIO (ManagerShutDown "updateTimeout")
    Just first -> when first (wakeForTimer mgr)

-- | Cancels a timeout: its callback will not be called after this returns
-- (unless it is running right now, or the loop has just taken it out of
-- the queue to run it). A stale key is ignored, also after 'shutdown'.
unregisterTimeout :: Manager -> TimeoutKey -> IO ()
unregisterTimeout mgr (TimeoutKey k) =
  void (TQ.modify (mgrTimers mgr) (TQ.delete k))

-- | Runs the timeouts due now, on the loop's thread; returns how many.
-- Stops at a 'shutdown' (the timeout taken out then gets its shutdown
-- action, as in 'dispatch'; 'shutdown' aborts the rest).
fireTimers :: Manager -> IO Int
fireTimers mgr = do
  dl <- TQ.earliest <$> readIORef (mgrTimers mgr)
  if dl < 0 then return 0 else do
    now <- c_evmgr_now_ns
    if dl > now then return 0 else go now 0
  where
    go now !count = do
      mt <- TQ.modify (mgrTimers mgr) (TQ.popDue now)
      case mt of
        Nothing -> return count
        Just t -> do
          open <- readIORef (mgrOpen mgr)
          if open
            then guarded mgr (TQ.tAction t) >> go now (count + 1)
            else quietly (TQ.tAbort t) >> return count

-- | The wait limit (ns, -1: none) shortened to the earliest timeout's
-- wake-up time ('wakeAt').
timerBound :: Manager -> Int64 -> IO Int64
timerBound mgr limit = do
  dl <- TQ.earliest <$> readIORef (mgrTimers mgr)
  if dl < 0 then return limit else do
    now <- c_evmgr_now_ns
    let t = if dl <= now then 0 else wakeAt dl - now
    return (if limit < 0 then t else min limit t)

-- | When the loop wakes for a timeout due at a deadline that has not
-- passed yet: the deadline rounded up to the next whole millisecond of the
-- clock (at most 1 ms late, as "GHC.Event"'s timer manager, whose waits are
-- in milliseconds). Timeouts due in the same millisecond then fire in one
-- wake-up instead of one each: with thousands of timeouts a second, a wait
-- per timeout (a blocking foreign call, and in the threaded RTS an OS
-- thread hand-off each) cost more than the timeouts themselves.
wakeAt :: Int64 -> Int64
wakeAt dl
  | dl >= maxBound - timerGrain = maxBound
  | otherwise = ((dl + timerGrain - 1) `div` timerGrain) * timerGrain

-- | The timer grid, in ns.
timerGrain :: Int64
timerGrain = 1000000

------------------------------------------------------------------------------
-- The loop

-- | Waits for events and runs their callbacks until 'shutdown' (then
-- returns). Only one 'loop' or 'step' may run on a manager at a time
-- (otherwise 'LoopAlreadyRunning'); throws 'ManagerShutDown' if called after
-- 'shutdown'. An asynchronous exception (e.g. 'Control.Concurrent.killThread')
-- ends it, leaving the manager usable.
loop :: Manager -> IO ()
loop mgr = withLoop mgr "loop" go
  where
    go = do
      open <- readIORef (mgrOpen mgr)
      when open $ do
        _ <- pollOnce mgr (-1)
        go

-- | Waits at most the given number of microseconds (negative: no limit;
-- 0: just look) for events, runs their callbacks, and returns how many
-- events it handled (0 on timeout, wake-up or after a 'shutdown' from a
-- callback). Throws like 'loop'.
step :: Manager -> Int -> IO Int
step mgr us = withLoop mgr "step" $ do
  let limit | us < 0 = -1
            | otherwise = usToNs us
  pollOnce mgr limit

-- | Holds the loop lock around an action; on the way out, frees the C side
-- if 'shutdown' happened meanwhile.
withLoop :: Manager -> String -> IO a -> IO a
withLoop mgr what act = mask $ \restore -> do
  got <- tryTakeMVar (mgrLoop mgr)
  case got of
    Nothing -> do
      open <- readIORef (mgrOpen mgr)
      throwIO (if open then LoopAlreadyRunning what else ManagerShutDown what)
    Just () -> do
      open <- readIORef (mgrOpen mgr)
      let release = do
            putMVar (mgrLoop mgr) ()
            stillOpen <- readIORef (mgrOpen mgr)
            unless stillOpen (tryFinalize mgr)
      if not open
        then release >> throwIO (ManagerShutDown what)
        else do
          r <- restore act `onException` release
          release
          return r

-- Note [Waking the non-threaded loop]
-- ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
-- In the non-threaded RTS one wait of the loop ('pollOnce') is two steps:
-- a zero-timeout evmgr_poll (the "look"), then, if it found nothing, a wait
-- in Haskell for the pollable fd (threadWaitRead, bounded by
-- evmgr_next_deadline_ns). Other Haskell threads run between any two
-- allocations of the loop's thread, but never inside a C call (all of them
-- are unsafe), so the steps below are ordered with respect to one another.
--
-- The flags, and who touches them:
--
--   mgrOpen      set False by 'shutdown' (only), before it calls
--                evmgr_wakeup; read by 'loop' before each 'pollOnce' and
--                by 'pollOnce' right after its look.
--   mgrWaiting   set True by the loop before its look; set False by the
--                loop after the look (when it will not wait) or after the
--                wait; read by registrations ('wakeIfWaiting') after their
--                C call, which then call evmgr_wakeup if it is True.
--   in the core  evmgr_wakeup sets wake_requested_ and, unless a channel
--                write is already pending (channel_pending_), writes the
--                wake-up channel, which makes the pollable fd readable. The
--                next evmgr_poll, and our look is one, consumes the request
--                and drains the channel (Note [Wake-ups] in
--                rts-manager/src/manager.cpp): it returns 0, which looks
--                exactly like "nothing happened".
--
-- So a wake-up reaches the loop in one of two ways: a look consumes it, or
-- it leaves the pollable fd readable (a wake-up made after a look is never
-- consumed by it, since the look is done; the channel then holds a write,
-- its own or the pending one it coalesced with, which only a later
-- evmgr_poll drains). The loop must therefore act on the reason for every
-- wake-up that a look may have consumed before it waits:
--
--   * 'shutdown': mgrOpen is False before evmgr_wakeup is called. If the
--     look consumed it, mgrOpen was False before the look, and the check
--     right after the look sees it: no wait. Otherwise the fd is readable
--     and the wait ends at once; 'loop' then sees mgrOpen.
--   * a registration: its C call comes before its evmgr_wakeup. If the look
--     came after that C call, the look saw the registration (queued a due
--     timer, or fd readiness that is there), and evmgr_next_deadline_ns,
--     read after the look, bounds the wait by its timer; an armed fd makes
--     the pollable fd readable when it becomes ready. If the look came
--     before the C call, mgrWaiting was already True (it is set before the
--     look and cleared only on paths that poll again before waiting), so
--     the registration calls evmgr_wakeup, which is not consumed by that
--     look: the fd is readable and the wait ends at once.
--
-- Setting mgrWaiting before the look, not after, is what makes the last
-- case hold; a spare evmgr_wakeup (mgrWaiting True but the loop about to
-- look again) costs one extra turn of the loop, never an event.
--
-- The lost wake-up this replaces: the loop read mgrOpen (True) and was
-- preempted before its look; 'shutdown' set mgrOpen False and called
-- evmgr_wakeup; the look consumed the request, drained the channel and
-- returned 0; and the loop waited on a pollable fd that nothing would ever
-- make readable again. The check of mgrOpen after the look closes it. The
-- threaded RTS has no such gap: its blocking evmgr_poll is the wait, and a
-- wake-up it consumes makes it return to 'loop', which reads mgrOpen.

-- Note [Timeouts in Haskell]
-- ~~~~~~~~~~~~~~~~~~~~~~~~~~~
-- Timeouts never reach the C core. They live in a pure priority queue
-- ('mgrTimers', System.Evmgr.TimerQueue) changed only by
-- atomicModifyIORef', like GHC.Event's timer manager: registering costs one
-- compare-and-swap and a clock read, with no lock and no C call. (With a C
-- timer per timeout, registration cost the C core's ~350 ns plus the
-- manager's MVar, which under -N2 the registering thread and the loop
-- thread handed to each other through futexes: 0.27x GHC.Event's rate.)
--
-- The loop bounds each wait by the queue's earliest deadline and, after
-- each evmgr_poll, takes out every due timeout with one more
-- atomicModifyIORef' and runs them ('fireTimers'). A registration that
-- makes a new earliest deadline must shorten a wait already computed from
-- the old one; it calls evmgr_wakeup when mgrWaiting says the loop is
-- waiting or about to. The two sides, in this order:
--
--   loop:          mgrWaiting := True; read the queue; wait (bounded by
--                  its earliest deadline); mgrWaiting := False
--   registration:  insert into the queue; if it became the earliest and
--                  mgrWaiting is True, evmgr_wakeup
--
-- Either the loop's read sees the new timeout, or the insertion came after
-- that read and so after mgrWaiting := True, and the registration wakes
-- the loop: a wake-up before evmgr_poll makes that poll return at once
-- (threaded), or leaves the pollable fd readable (non-threaded, Note
-- [Waking the non-threaded loop]). In the threaded RTS the two sides run in
-- parallel, so the store to mgrWaiting is an atomicWriteIORef (a barrier
-- before the load of the queue) and the registration's atomicModifyIORef'
-- is one before its load of mgrWaiting. A needless wake-up costs one turn
-- of the loop. The wake-up takes the manager's MVar (so the C manager is
-- not freed under it), but only when the earliest deadline changes and the
-- loop waits, not on every registration.
--
-- 'shutdown' closes the queue (later insertions fail with ManagerShutDown)
-- and runs the shutdown actions of what was pending.

-- | One wait (up to @limit@ ns; -1: none; 0: just look) and dispatch.
-- Caller holds the loop lock.
pollOnce :: Manager -> Int64 -> IO Int
pollOnce mgr limit
  | rtsSupportsBoundThreads = withForeignPtr (mgrBuf mgr) $ \buf -> do
      n <- if limit == 0
        then c_evmgr_poll_nonblocking p 0 buf cap
        else do
          -- Note [Timeouts in Haskell]: flag, then read the queue.
          atomicWriteIORef (mgrWaiting mgr) True
          lim <- timerBound mgr limit
          r <- if lim == 0
            then c_evmgr_poll_nonblocking p 0 buf cap
            else c_evmgr_poll_blocking p lim buf cap
          writeIORef (mgrWaiting mgr) False
          return r
      handled buf n
  | otherwise = withForeignPtr (mgrBuf mgr) $ \buf -> do
      start <- if limit > 0 then c_evmgr_now_ns else return 0
      -- See Note [Waking the non-threaded loop]: flag, look, then the
      -- shutdown check, in this order; the queue is read after the flag
      -- (Note [Timeouts in Haskell]).
      writeIORef (mgrWaiting mgr) True
      n <- c_evmgr_poll_nonblocking p 0 buf cap
      open <- readIORef (mgrOpen mgr)
      tdl <- TQ.earliest <$> readIORef (mgrTimers mgr)
      due <- if tdl < 0 then return False else (tdl <=) <$> c_evmgr_now_ns
      if n /= 0 || limit == 0 || not open || due
        then writeIORef (mgrWaiting mgr) False >> handled buf n
        else do
          let until' | tdl < 0 = if limit < 0 then -1 else start + limit
                     | limit < 0 = wakeAt tdl
                     | otherwise = min (wakeAt tdl) (start + limit)
          waitInHaskell mgr until'
            `finally` writeIORef (mgrWaiting mgr) False
          n' <- c_evmgr_poll_nonblocking p 0 buf cap
          handled buf n'
  where
    p = mgrPtr mgr
    cap = fromIntegral bufCapacity
    handled buf n
      | n >= 0 = do
          when (n > 0) $ dispatch mgr buf (fromIntegral n)
          fired <- fireTimers mgr
          return (fromIntegral n + fired)
      | Errno (negate n) == eINTR = return 0
      | otherwise = throwIO (errnoToIOError "evmgr.loop: evmgr_poll"
                                            (Errno (negate n)) Nothing Nothing)

-- | Non-threaded RTS: waits in Haskell (never in C) until the pollable fd
-- is readable, the core's next deadline (@evmgr_next_deadline_ns@:
-- closed-fd check, queued events) or @until@ (the caller's deadline or the
-- earliest timeout; -1: none), whichever comes first.
waitInHaskell :: Manager -> Int64 -> IO ()
waitInHaskell mgr until' = do
  now <- c_evmgr_now_ns
  dl <- c_evmgr_next_deadline_ns (mgrPtr mgr)
  let bounds = [x | x <- [until', dl], x >= 0]
      pfd = mgrPollFd mgr
      usable = pfd >= 0 && pfd < selectLimit
  case bounds of
    [] | usable -> threadWaitRead (Fd (fromIntegral pfd))
       | otherwise -> threadDelay 1000
    _ -> do
      let us = fromIntegral ((minimum bounds - now + 999) `div` 1000) :: Int
      when (us > 0) $
        if usable
          then void (timeout us (threadWaitRead (Fd (fromIntegral pfd))))
          else threadDelay (min us 1000)
  where
    selectLimit = 1024

-- | Runs the callbacks of the first @n@ events in the buffer: looks them
-- all up under the lock (one acquisition per batch), then runs them without
-- it, stopping early if 'shutdown' is called meanwhile. A registration the
-- lookup took out of the table (one-shot, or ended) and that does not run
-- because of that shutdown gets its shutdown action instead, as 'finalize'
-- gives those still in the table: otherwise a thread in 'sleep',
-- 'waitRead' or 'waitWrite' whose event came in the same batch as the
-- shutdown would wait forever.
dispatch :: Manager -> Ptr CEvent -> Int -> IO ()
dispatch mgr buf n = do
  actions <- withMVar (mgrState mgr) $ \_ -> collect (n - 1) []
  run actions
  where
    collect i acc
      | i < 0 = return acc
      | otherwise = do
          CEvent tok k fd evs <- peekEvent buf i
          let ends = evs .&. (evTimeout .|. evClosed) /= 0
              remove (FdCB MultiShot _ _) = ends
              remove _ = True
              -- Still in the table (a multi-shot fd): 'finalize' aborts it.
              abortIfRemoved c a = if remove c then a else return ()
          mcb <- T.lookupWith (mgrTable mgr) remove tok
          collect (i - 1) $ case mcb of
            Nothing -> acc
            Just c@(FdCB _ cb a) ->
              (cb (FdKey (Fd (fromIntegral fd)) tok k) (Event evs),
               abortIfRemoved c a) : acc
    run [] = return ()
    run as@((act, _) : rest) = do
      open <- readIORef (mgrOpen mgr)
      if open
        then guarded mgr act >> run rest
        else mapM_ (quietly . snd) as

-- | Runs a shutdown action, ignoring what it throws.
quietly :: IO () -> IO ()
quietly a = a `catch` \(_ :: SomeException) -> return ()

-- | Runs a callback; a synchronous exception goes to the handler.
guarded :: Manager -> IO () -> IO ()
guarded mgr act = act `catch` \(e :: SomeException) ->
  case fromException e of
    Just (_ :: SomeAsyncException) -> throwIO e
    Nothing -> do
      h <- readIORef (mgrHandler mgr)
      h e

------------------------------------------------------------------------------
-- Blocking helpers

-- | Blocks until the fd is readable (or at end of file, or in error), like
-- 'Control.Concurrent.threadWaitRead'. Throws an 'IOError' naming the fd
-- if it is (or is found) closed.
waitRead :: Manager -> Fd -> IO ()
waitRead = waitFor "waitRead" evtRead

-- | Blocks until the fd is writable (or in error), like
-- 'Control.Concurrent.threadWaitWrite'. Throws like 'waitRead'.
waitWrite :: Manager -> Fd -> IO ()
waitWrite = waitFor "waitWrite" evtWrite

waitFor :: String -> Event -> Manager -> Fd -> IO ()
waitFor what ev mgr fd = do
  mv <- newEmptyMVar
  r <- mask $ \restore -> do
    k <- registerFdWith mgr (\_ e -> void (tryPutMVar mv (Just e)))
           (void (tryPutMVar mv Nothing)) fd ev OneShot
    restore (takeMVar mv) `onException` unregisterFd mgr k
  case r of
    Nothing -> throwIO (ManagerShutDown what)
    Just (Event e)
      | e .&. evClosed /= 0 -> throwIO (fdError what fd eBADF)
      | otherwise -> return ()

-- | Blocks for the given number of microseconds, like
-- 'Control.Concurrent.threadDelay', timed by the manager.
sleep :: Manager -> Int -> IO ()
sleep mgr us = do
  mv <- newEmptyMVar
  r <- mask $ \restore -> do
    k <- registerTimeoutWith mgr us (void (tryPutMVar mv True))
           (void (tryPutMVar mv False))
    restore (takeMVar mv) `onException` unregisterTimeout mgr k
  unless r $ throwIO (ManagerShutDown "sleep")

------------------------------------------------------------------------------
-- Introspection

-- | Live registrations: fd registrations in the C core (including events
-- queued but not yet delivered) and pending timeouts; 0 after 'shutdown'.
pendingCount :: Manager -> IO Int
pendingCount mgr = do
  c <- withMVar (mgrState mgr) $ \case
    Open p -> fromIntegral <$> c_evmgr_pending_count p
    _ -> return 0
  t <- TQ.size <$> readIORef (mgrTimers mgr)
  return (c + t)

-- | Callbacks the binding keeps alive (registrations not yet fired,
-- unregistered or dropped by 'shutdown'). Equals 'pendingCount' when no
-- loop is running; a test of the no-leak guarantee.
callbackCount :: Manager -> IO Int
callbackCount mgr = do
  c <- withMVar (mgrState mgr) $ \_ -> T.size (mgrTable mgr)
  t <- TQ.size <$> readIORef (mgrTimers mgr)
  return (c + t)
