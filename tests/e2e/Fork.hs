-- forkProcess (unix) with waiters in the parent (on a pipe and in a delay);
-- the child starts new waits of its own; the parent's waiters still work.
import Common
import Control.Concurrent
import Control.Monad
import System.Exit
import System.Posix.IO
import System.Posix.Process

main :: IO ()
main = do
  (r, w) <- pipe
  readerDone <- newEmptyMVar
  _ <- forkIO $ threadWaitRead r >> fdRead r 1 >>= putMVar readerDone . fst
  sleeperDone <- newEmptyMVar
  _ <- forkIO $ threadDelay 300000 >> putMVar sleeperDone ()
  threadDelay 20000
  pid <- forkProcess $ do
    -- the child: fresh waits on a delay and on a new pipe
    s <- nowNs
    threadDelay 50000
    e <- nowNs
    when (e - s < 50000000) $ exitWith (ExitFailure 3)
    (cr, cw) <- createPipe
    got <- newEmptyMVar
    _ <- forkIO $ threadWaitRead cr >> fdRead cr 2 >>= putMVar got . fst
    threadDelay 20000
    _ <- fdWrite cw "ok"
    v <- takeMVar got
    -- the parent's pipe is usable here too
    _ <- fdWrite w "p"
    exitWith (if v == "ok" then ExitSuccess else ExitFailure 4)
  st <- withTimeoutOrDie 10000000 "waiting for the child" (getProcessStatus True False pid)
  check (st == Just (Exited ExitSuccess)) ("child: " ++ show st)
  v <- withTimeoutOrDie 5000000 "parent reader after fork" (takeMVar readerDone)
  check (v == "p") "parent reader: wrong data"
  withTimeoutOrDie 5000000 "parent sleeper after fork" (takeMVar sleeperDone)
  pass "fork"
