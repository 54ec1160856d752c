-- Many threads sleeping with distinct delays wake in order and never early;
-- zero and negative delays return at once; threadDelay maxBound does not
-- overflow (the thread is killed, not woken).
import Common
import Control.Concurrent
import Control.Monad
import Data.IORef
import Data.List (sort)
import System.Environment (getArgs)

main :: IO ()
main = do
  args <- getArgs
  -- select's wakeUpSleepingThreads pushes each woken thread on the FRONT of
  -- the run queue, so threads woken by one pass run in reverse: GHC's stock
  -- behaviour, checked loosely.
  let strictOrder = "loose-order" `notElem` args
  let n = 300 :: Int
      delayOf i = 20000 + i * 2003           -- 20 ms .. ~620 ms, distinct
  order <- newIORef []
  done <- newEmptyMVar
  t0 <- nowNs
  -- Forked in order of increasing delay, so deadlines (start + delay)
  -- increase with i even when forking is slow (debug RTS).
  forM_ [0 .. n - 1] $ \i -> forkIO $ do
    let d = delayOf i
    s <- nowNs
    threadDelay d
    e <- nowNs
    let deadline = s + fromIntegral d * 1000
    atomicModifyIORef' order (\xs -> ((deadline, e, i) : xs, ()))
    check (e >= deadline) ("thread " ++ show i ++ " woke early: "
           ++ show (e - s) ++ " ns < " ++ show d ++ " us")
    putMVar done ()
  replicateM_ n (takeMVar done)
  -- Wake order follows deadlines: taken by deadline, the wake-up times
  -- increase. 1 ms of slack: a woken thread may be preempted before it
  -- reads the clock while the others woken by the same poll run.
  byDeadline <- sort <$> readIORef order
  let inversions = [ (a, b) | ((_, ea, a), (_, eb, b)) <- zip byDeadline (drop 1 byDeadline)
                            , eb + 1000000 < ea ]
  check (not strictOrder || null inversions)
        ("threads woke out of deadline order: " ++ show (take 5 inversions))
  t1 <- nowNs
  check (t1 - t0 < 10 * 1000 * 1000 * 1000) "delays took far too long"
  -- zero and negative delays
  s <- nowNs
  forM_ [0, -1, -1000000, minBound] threadDelay
  e <- nowNs
  check (e - s < 500 * 1000 * 1000) "zero/negative delays did not return at once"
  -- threadDelay maxBound: sleeps (no overflow into the past), can be killed
  r <- newEmptyMVar
  tid <- forkIO $ threadDelay maxBound >> putMVar r "woke"
  threadDelay 50000
  killThread tid
  threadDelay 10000
  v <- tryTakeMVar r
  check (v == Nothing) "threadDelay maxBound returned"
  pass "delays"
