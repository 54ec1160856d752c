-- Heavy allocation and major GCs while thousands of threads wait on pipes
-- and in delays: every TSO the manager holds must survive and be updated
-- (Note [GC roots]). Run also with +RTS -xn (non-moving GC) and -c.
import Common
import Control.Concurrent
import Control.Monad
import Data.IORef
import System.Mem (performMajorGC, performMinorGC)
import System.Posix.IO

main :: IO ()
main = do
  let nPipes = 400        -- 800 fds: fine for select too
      nSleep = 3000
  pipes <- replicateM nPipes pipe
  results <- newIORef (0 :: Int)
  done <- newEmptyMVar
  forM_ (zip [0 :: Int ..] pipes) $ \(i, (r, _)) -> forkIO $ do
    let junk = [1 .. i + 100] :: [Int]     -- live data on the thread's stack
    threadWaitRead r
    (s, _) <- fdRead r 8
    check (s == show (i `mod` 100000000)) ("pipe " ++ show i ++ " got " ++ s)
    check (sum junk == (i + 100) * (i + 101) `div` 2) "thread data corrupted"
    atomicModifyIORef' results (\n -> (n + 1, ()))
    putMVar done ()
  forM_ [0 .. nSleep - 1] $ \i -> forkIO $ do
    s <- nowNs
    threadDelay (200000 + (i * 37) `mod` 300000)
    e <- nowNs
    check (e - s >= fromIntegral (200000 + (i * 37) `mod` 300000) * 1000) "woke early"
    atomicModifyIORef' results (\n -> (n + 1, ()))
    putMVar done ()
  -- churn the heap while they wait
  forM_ [1 .. 30 :: Int] $ \k -> do
    let xs = [1 .. 20000 + k] :: [Int]
    ref <- newIORef (reverse (map (* 3) xs))
    v <- readIORef ref
    check (sum v == 3 * sum xs) "allocation check"
    if even k then performMajorGC else performMinorGC
  forM_ (zip [0 :: Int ..] pipes) $ \(i, (_, w)) -> do
    _ <- fdWrite w (show (i `mod` 100000000))
    when (i `mod` 50 == 0) performMajorGC
  withTimeoutOrDie 30000000 "all waiters" (replicateM_ (nPipes + nSleep) (takeMVar done))
  n <- readIORef results
  check (n == nPipes + nSleep) "lost waiters"
  pass "gc-stress"
