{-# LANGUAGE ScopedTypeVariables #-}
-- throwTo (killThread, System.Timeout.timeout) to a thread that masks
-- exceptions: the thrower blocks, its MessageThrowTo waits on the target's
-- blocked_exceptions queue, and the RTS finishes it later
-- (doneWithMsgThrowTo). Each mode reaches one of the places that do so.
-- Stock GHC 9.0.2's non-threaded *debug* RTS fails an assertion
-- (rts/Messages.h:29) in every mode: with one capability lockClosure()
-- does not WHITEHOLE the message, and the assertion wanted it locked
-- (ghc-patch 0008). The release ways were never affected.
--
-- Usage: ThrowToMasked [all|timeout|unmask|io|delay|block|finish|thrower|exit]
import Common
import Control.Concurrent
import Control.Exception
import Control.Monad
import Data.IORef
import System.Environment (getArgs)
import System.Posix.IO (closeFd, fdWrite)
import System.Timeout (timeout)

main :: IO ()
main = do
  args <- getArgs
  let modes = case args of
        [] -> ["all"]
        ["all"] -> ["all"]
        ms -> ms
      all' = ["timeout", "unmask", "io", "delay", "block", "finish", "thrower", "exit"]
  forM_ (concatMap (\m -> if m == "all" then all' else [m]) modes) $ \m ->
    case m of
      "timeout" -> viaTimeout
      "unmask"  -> viaUnmask
      "io"      -> maskedInIO
      "delay"   -> maskedInDelay
      "block"   -> viaBlocking
      "finish"  -> viaFinish
      "thrower" -> killTheThrower
      "exit"    -> return ()   -- below, after PASS
      _         -> check False ("unknown mode " ++ m)
  pass "throwto-masked"
  -- exit: the RTS deletes every thread at exit (deleteAllThreads), a thread
  -- blocked in throwTo included.
  when ("exit" `elem` modes || "all" `elem` modes) atExit

-- System.Timeout.timeout whose action ends before the timer thread first
-- runs: the timer thread starts masked (forkIOWithUnmask under bracket), so
-- the killThread in bracket's release blocks until it unmasks.
viaTimeout :: IO ()
viaTimeout = forM_ [1 .. 100 :: Int] $ \i -> do
  r <- withTimeoutOrDie 5000000 "timeout of a finished action" (timeout 10000000 (return i))
  check (r == Just i) "timeout: an action that ends at once gave Nothing"

-- The target has not run yet and starts masked; it takes the exception
-- when it unmasks (unmaskAsyncExceptions# -> maybePerformBlockedException).
viaUnmask :: IO ()
viaUnmask = do
  res <- newEmptyMVar
  t <- mask_ $ forkIOWithUnmask $ \unmask ->
         (unmask (threadDelay 10000000) >> putMVar res "not killed")
           `catch` \(e :: AsyncException) -> putMVar res (show e)
  withTimeoutOrDie 5000000 "unmask: killThread" (killThread t)
  v <- takeMVar res
  check (v == "thread killed") ("unmask: the target ended with " ++ v)

-- The target waits for a pipe inside uninterruptibleMask_: killThread must
-- wait until the data came and the mask ended; the wait is not cut short.
maskedInIO :: IO ()
maskedInIO = do
  (r, w) <- pipe
  maskedWait "io" (threadWaitRead r) (void (fdWrite w "x"))
  closeFd r
  closeFd w

-- The same with threadDelay (200 ms) inside uninterruptibleMask_.
maskedInDelay :: IO ()
maskedInDelay = do
  s0 <- nowNs
  maskedWait "delay" (threadDelay 200000) (return ())
  s1 <- nowNs
  check (s1 - s0 >= 200000000) "delay: the masked delay was cut short"

maskedWait :: String -> IO () -> IO () -> IO ()
maskedWait what wait release = do
  ready <- newEmptyMVar
  stage <- newIORef "started"
  res <- newEmptyMVar
  t <- forkIO $ (do uninterruptibleMask_ $ do
                      putMVar ready ()
                      wait
                      writeIORef stage "waited"
                    putMVar res "not killed")
                `catch` \(e :: AsyncException) -> putMVar res (show e)
  takeMVar ready
  threadDelay 20000            -- t is blocked in its wait now
  killed <- newEmptyMVar
  _ <- forkIO $ killThread t >> putMVar killed ()
  threadDelay 50000
  early <- tryTakeMVar killed
  st <- readIORef stage
  -- killThread may return only once the masked wait is over: on a loaded
  -- machine the delays above can outlast the target's own wait, so what is
  -- checked is the order, not the time.
  check (early == Nothing || st == "waited")
    (what ++ ": killThread returned while the target was masked")
  release
  v <- withTimeoutOrDie 5000000 (what ++ ": the pending exception") (takeMVar res)
  check (v == "thread killed") (what ++ ": the target ended with " ++ v)
  s <- readIORef stage
  check (s == "waited") (what ++ ": the exception cut the masked wait short")
  when (early == Nothing) $
    withTimeoutOrDie 5000000 (what ++ ": killThread") (takeMVar killed)

-- The target, masked interruptibly, has an exception pending when it
-- blocks on an MVar: threadPaused raises it (maybePerformBlockedException).
viaBlocking :: IO ()
viaBlocking = do
  inMask <- newEmptyMVar
  never <- newEmptyMVar :: IO (MVar ())
  res <- newEmptyMVar
  t <- forkIO $ mask_ (do putMVar inMask ()
                          yield           -- main throws to us now
                          takeMVar never
                          putMVar res "not killed")
                  `catch` \(e :: AsyncException) -> putMVar res (show e)
  takeMVar inMask
  withTimeoutOrDie 5000000 "block: killThread" (killThread t)
  v <- takeMVar res
  check (v == "thread killed") ("block: the target ended with " ++ v)

-- The target never unmasks: when it finishes, the thrower is released
-- (awakenBlockedExceptionQueue) and the exception is dropped.
viaFinish :: IO ()
viaFinish = do
  done <- newIORef False
  t <- uninterruptibleMask_ $ forkIO (threadDelay 100000 >> writeIORef done True)
  withTimeoutOrDie 5000000 "finish: killThread" (killThread t)
  d <- readIORef done
  check d "finish: killThread returned before the masked target finished"

-- A thread blocked in throwTo (to a masked target) is itself killed: its
-- message is revoked (throwTo's BlockedOnMsgThrowTo case), the target is
-- never hit.
killTheThrower :: IO ()
killTheThrower = do
  go <- newEmptyMVar
  tRes <- newEmptyMVar
  t <- uninterruptibleMask_ $ forkIO $
         (takeMVar go >> putMVar tRes "finished")
           `catch` \(e :: AsyncException) -> putMVar tRes (show e)
  aRes <- newEmptyMVar
  a <- forkIO $ (killThread t >> putMVar aRes "killThread returned")
                  `catch` \(e :: AsyncException) -> putMVar aRes (show e)
  threadDelay 20000              -- a is blocked in throwTo now
  withTimeoutOrDie 5000000 "thrower: killThread" (killThread a)
  v <- takeMVar aRes
  check (v == "thread killed") ("thrower: the thrower ended with " ++ v)
  putMVar go ()
  tv <- withTimeoutOrDie 5000000 "thrower: the target" (takeMVar tRes)
  check (tv == "finished") ("thrower: the revoked exception reached the target: " ++ tv)

-- Leaves a thread blocked in throwTo to a thread masked for good; main
-- then returns and the RTS deletes both.
atExit :: IO ()
atExit = do
  t <- uninterruptibleMask_ $ forkIO (threadDelay 100000000)
  _ <- forkIO (killThread t)
  threadDelay 20000
