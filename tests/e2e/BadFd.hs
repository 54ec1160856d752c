-- A bad fd raises an IOError in the waiting thread (GHC #4934), and so does
-- an fd closed while a thread waits on it; nothing hangs.
import Common
import Control.Concurrent
import Control.Exception
import System.Posix.IO

main :: IO ()
main = do
  -- fds that are not open (numbers just closed: inside the fd table, since
  -- Linux's select ignores, and reports "ready", fds beyond the table)
  (a, b) <- pipe
  closeFd a >> closeFd b
  withTimeoutOrDie 5000000 "wait on a bad fd" $
    expectIOError "threadWaitRead on a closed fd" (threadWaitRead a)
  withTimeoutOrDie 5000000 "wait on a bad fd" $
    expectIOError "threadWaitWrite on a closed fd" (threadWaitWrite b)
  -- fd closed while waiting
  (r, w) <- pipe
  (r2, w2) <- pipe      -- opened first, so it cannot reuse r's number
  res <- newEmptyMVar
  _ <- forkIO $ do
    e <- try (threadWaitRead r)
    putMVar res (either (\x -> Just (x :: IOException)) (const Nothing) e)
  threadDelay 50000
  closeFd r
  -- another fd event, so that select/poll re-examine their sets
  _ <- forkIO (threadWaitRead r2)
  _ <- fdWrite w2 "x"
  out <- withTimeoutOrDie 5000000 "fd closed while waiting" (takeMVar res)
  case out of
    Just _ -> return ()
    Nothing -> check False "closed fd: the waiter woke without an IOError"
  closeFd w
  closeFd w2 >> closeFd r2
  -- fd closed while waiting, and nothing else happens: the manager alone
  -- must notice (epoll: the core's closed-fd check, ~250 ms)
  (r3, w3) <- pipe
  res3 <- newEmptyMVar
  _ <- forkIO $ do
    e <- try (threadWaitRead r3)
    putMVar res3 (either (\x -> Just (x :: IOException)) (const Nothing) e)
  threadDelay 50000
  s <- nowNs
  closeFd r3
  out3 <- withTimeoutOrDie 5000000 "fd closed while waiting, no other event" (takeMVar res3)
  e <- nowNs
  check (out3 /= Nothing) "closed fd (quiet): the waiter woke without an IOError"
  check (e - s < 2000000000) ("closed fd noticed after " ++ show (e - s) ++ " ns")
  closeFd w3
  pass "bad-fd"
