-- 5000 fds open; threads wait on fds above 1024 (select cannot: it aborts
-- with "file descriptor ... out of range for select"). Needs a soft
-- RLIMIT_NOFILE above 5000 (run.sh: ulimit -n 20000).
import Common
import Control.Concurrent
import Control.Monad
import System.Posix.IO
import System.Posix.Types (Fd (..))

main :: IO ()
main = do
  pipes <- replicateM 2500 pipe               -- 5000 fds
  let high = [ p | p@(Fd r, _) <- pipes, r > 1024 ]
  check (length high > 1000) "fewer than 1000 pipes above fd 1024"
  let waiters = take 1000 (reverse high)
  check (all (\(Fd r, _) -> r > 4000) (take 10 waiters)) "no fds above 4000"
  done <- newEmptyMVar
  forM_ waiters $ \(r, _) -> forkIO $ do
    threadWaitRead r
    (s, _) <- fdRead r 1
    putMVar done s
  threadDelay 50000
  none <- tryTakeMVar done
  check (none == Nothing) "a waiter woke before any write"
  forM_ waiters $ \(_, w) -> fdWrite w "k"
  got <- withTimeoutOrDie 10000000 "waking 1000 waiters on high fds"
           (replicateM (length waiters) (takeMVar done))
  check (all (== "k") got) "wrong data on high fds"
  -- and write readiness on a high fd
  let (_, w) = head waiters
  withTimeoutOrDie 5000000 "write readiness on a high fd" (threadWaitWrite w)
  forM_ pipes $ \(r, w') -> closeFd r >> closeFd w'
  pass "many-fds"
