-- killThread and System.Timeout.timeout on threads blocked in I/O and in a
-- delay; the fd is usable afterwards (no stale registration).
import Common
import Control.Concurrent
import Control.Exception
import Control.Monad
import System.Posix.IO
import System.Timeout (timeout)

main :: IO ()
main = do
  (r, w) <- pipe
  -- killThread on a reader
  killed <- newEmptyMVar
  t1 <- forkIO $ (threadWaitRead r >> putMVar killed "woke")
                   `catch` \e -> putMVar killed (show (e :: AsyncException))
  threadDelay 50000
  killThread t1
  k <- withTimeoutOrDie 2000000 "killThread on a reader" (takeMVar killed)
  check (k == "thread killed") ("reader: " ++ k)
  -- killThread on a sleeper
  t2 <- forkIO $ (threadDelay 10000000 >> putMVar killed "woke")
                   `catch` \e -> putMVar killed (show (e :: AsyncException))
  threadDelay 50000
  s0 <- nowNs
  killThread t2
  k2 <- withTimeoutOrDie 2000000 "killThread on a sleeper" (takeMVar killed)
  s1 <- nowNs
  check (k2 == "thread killed") ("sleeper: " ++ k2)
  check (s1 - s0 < 1000000000) "killThread on a sleeper was slow"
  -- timeout on reads and delays, many times (registrations must not leak)
  forM_ [1 .. 200 :: Int] $ \_ -> do
    a <- timeout 1000 (threadWaitRead r)
    check (a == Nothing) "timeout: read on an empty pipe returned"
    b <- timeout 1000 (threadDelay 1000000)
    check (b == Nothing) "timeout: a long delay returned"
  -- the fd is usable afterwards, by a new waiter
  got <- newEmptyMVar
  _ <- forkIO $ threadWaitRead r >> fdRead r 3 >>= putMVar got . fst
  threadDelay 20000
  _ <- fdWrite w "abc"
  v <- withTimeoutOrDie 2000000 "read after cancellations" (takeMVar got)
  check (v == "abc") "wrong data after cancellations"
  -- a cancelled delay does not wake its thread later
  x <- timeout 20000 (threadDelay 100000)
  check (x == Nothing) "timeout"
  threadDelay 200000
  pass "cancel"
