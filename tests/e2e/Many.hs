-- 100,000 sleeping threads (distinct delays); none wakes early, all wake.
import Common
import Control.Concurrent
import Control.Monad
import Data.IORef
import System.Environment (getArgs)

main :: IO ()
main = do
  args <- getArgs
  let n = case args of (a : _) -> read a; _ -> 100000 :: Int
  early <- newIORef (0 :: Int)
  count <- newIORef (0 :: Int)
  done <- newEmptyMVar
  forM_ [1 .. n] $ \i -> forkIO $ do
    let d = 500000 + (i * 7919) `mod` 1000000     -- 0.5 s .. 1.5 s
    s <- nowNs
    threadDelay d
    e <- nowNs
    when (e - s < fromIntegral d * 1000) $ atomicModifyIORef' early (\x -> (x + 1, ()))
    c <- atomicModifyIORef' count (\x -> (x + 1, x + 1))
    when (c == n) $ putMVar done ()
  withTimeoutOrDie 60000000 "100k sleepers" (takeMVar done)
  e <- readIORef early
  check (e == 0) (show e ++ " threads woke early")
  pass ("many-sleepers " ++ show n)
