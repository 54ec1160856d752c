{-# LANGUAGE BangPatterns #-}
-- Scheduling as on stock GHC: woken threads go to the front of the run
-- queue (so they run in stock's order, and a delay among busy threads is
-- served at the next context switch), and no delay ever ends early, however
-- short.
--
--   Sched order   4 threads wait on one pipe; one write wakes them all: they
--                 must run last-blocked first, as select's awaitEvent
--                 (pushOnRunQueue per ready thread) makes them
--   Sched busy    8 CPU-bound threads run; a 5 ms threadDelay in the main
--                 thread must oversleep by about one context-switch
--                 interval (20 ms), not by a round of every busy thread
--   Sched tiny    threadDelay 1, 10, 100, 1000 us: never early
--   Sched idle    every thread waits (a pipe nobody writes, an hour's
--                 threadDelay, an MVar); prints "settled" and waits for
--                 good: run.sh attaches strace and counts its syscalls
--   Sched pingpong HOPS   two threads bounce one byte over two pipes; run
--                 under strace by run.sh, which counts syscalls per hop
import Common
import Control.Concurrent
import Control.Exception (evaluate)
import Control.Monad
import Data.IORef
import Data.List (sort)
import Data.Word (Word64)
import System.Environment (getArgs)
import System.IO (hFlush, stdout)
import System.Posix.IO (fdRead, fdWrite)

main :: IO ()
main = do
  args <- getArgs
  case args of
    ["order"] -> runOrder
    ["busy"]  -> runBusy
    ["tiny"]  -> runTiny
    ["pingpong", n] -> runPingPong (read n)
    ["idle"] -> runIdle
    _ -> check False "usage: Sched order|busy|tiny"

-- | The threads woken by one event run in the reverse of the order they
-- blocked in.
runOrder :: IO ()
runOrder = withTimeoutOrDie 10000000 "order" $ do
  (r, w) <- pipe
  ran <- newIORef []
  done <- newEmptyMVar
  let waiters = [1 .. 4] :: [Int]
  forM_ waiters $ \i -> do
    _ <- forkIO $ do
      threadWaitRead r
      atomicModifyIORef' ran (\xs -> (xs ++ [i], ()))
      putMVar done ()
    -- Let it run until it blocks: the waiters block in the order 1..4.
    threadDelay 2000
  _ <- fdWrite w "x"
  replicateM_ (length waiters) (takeMVar done)
  order <- readIORef ran
  check (order == reverse waiters)
    ("woken threads ran in order " ++ show order ++ ", stock runs " ++ show (reverse waiters))
  pass "Sched order"

-- | A short delay among CPU-bound threads.
runBusy :: IO ()
runBusy = withTimeoutOrDie 60000000 "busy" $ do
  stop <- newIORef False
  -- Allocating loops: a non-allocating one would never be preempted.
  let spin !acc = do
        s <- readIORef stop
        if s then return () else do
          x <- evaluate (sum [acc .. acc + 200 :: Int])
          spin (x `mod` 7)
  forM_ [1 .. 8 :: Int] $ \_ -> forkIO (spin 0)
  threadDelay 50000  -- let every busy thread start
  overs <- forM [1 .. 15 :: Int] $ \_ -> do
    t0 <- nowNs
    threadDelay 5000
    t1 <- nowNs
    let slept = t1 - t0
    check (slept >= 5000000) ("a 5 ms delay ended after " ++ show slept ++ " ns")
    return (slept - 5000000)
  writeIORef stop True
  let median = sort overs !! (length overs `div` 2)
      ms :: Word64 -> Double
      ms ns = fromIntegral ns / 1e6
  -- One context-switch interval is 20 ms; appended behind 8 busy threads a
  -- woken thread waits ~8 of them (160 ms). 50 ms leaves room for a loaded
  -- machine and still fails clearly when the woken thread waits its turn.
  check (median <= 50000000)
    ("median oversleep of a 5 ms delay among 8 busy threads: " ++ show (ms median)
     ++ " ms (all: " ++ show (map ms (sort overs)) ++ ")")
  putStrLn ("median oversleep " ++ show (ms median) ++ " ms")
  pass "Sched busy"

-- | Delays shorter than the kernel's timer slack are served, never early.
runTiny :: IO ()
runTiny = withTimeoutOrDie 60000000 "tiny" $ do
  forM_ [1, 10, 100, 1000] $ \us -> replicateM_ 200 $ do
    t0 <- nowNs
    threadDelay us
    t1 <- nowNs
    check (t1 - t0 >= fromIntegral us * 1000)
      ("threadDelay " ++ show us ++ " returned after " ++ show (t1 - t0) ++ " ns")
  pass "Sched tiny"

-- | HOPS wake-ups: each side writes a byte to the other's pipe and waits on
-- its own. No timers, no allocation-heavy work: the syscalls it makes are
-- the hops' own (read, write) and the I/O manager's.
runPingPong :: Int -> IO ()
runPingPong hops = withTimeoutOrDie 60000000 "pingpong" $ do
  (r1, w1) <- pipe
  (r2, w2) <- pipe
  done <- newEmptyMVar
  let bounce rd wr n
        | n <= 0 = putMVar done ()
        | otherwise = do
            threadWaitRead rd
            _ <- fdRead rd 1
            _ <- fdWrite wr "x"
            bounce rd wr (n - 1)
  _ <- forkIO (bounce r1 w2 (hops `div` 2))
  _ <- forkIO (bounce r2 w1 (hops `div` 2))
  _ <- fdWrite w1 "x"
  replicateM_ 2 (takeMVar done)
  pass "Sched pingpong"

-- | Every thread waits, for good: the process must make no syscall once
-- settled (run.sh counts them with strace for a few seconds, after
-- "settled"). The output is flushed before the last wait.
runIdle :: IO ()
runIdle = do
  (r, _w) <- pipe
  forever' <- newEmptyMVar :: IO (MVar ())
  _ <- forkIO (threadWaitRead r)
  _ <- forkIO (threadDelay 3600000000)
  -- Let both block, and let a little Haskell work happen first, as in a
  -- real program, so the I/O manager has something to settle from.
  threadDelay 20000
  putStrLn "settled" >> hFlush stdout
  takeMVar forever'
