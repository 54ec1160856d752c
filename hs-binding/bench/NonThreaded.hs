-- | evmgr-bench-nonthreaded: in the non-threaded RTS, where GHC.Event is
-- unavailable, evmgr's timeouts against what such a program does without
-- it: 100,000 timeouts spread over 0..1 ms, as evmgr-bench's, against
-- 100,000 threads each doing Control.Concurrent.threadDelay with the same
-- delays (the non-threaded RTS's own timer queue; with the patched GHC it
-- waits through evmgr).
--
-- Usage: evmgr-bench-nonthreaded [ROUNDS]   (medians; interleaved rounds)
module Main (main) where

import Control.Concurrent
import Control.Monad
import Data.IORef
import Data.List (sort)
import GHC.Clock (getMonotonicTimeNSec)
import System.Environment (getArgs)
import Text.Printf (printf)

import qualified System.Evmgr as E


rate :: Int -> IO () -> IO Double
rate n act = do
  t0 <- getMonotonicTimeNSec
  act
  t1 <- getMonotonicTimeNSec
  return (fromIntegral n / (fromIntegral (t1 - t0) / 1e9))

counter :: Int -> IO (IO (), IO ())
counter total = do
  c <- newIORef (0 :: Int)
  done <- newEmptyMVar
  let hit = do
        x <- atomicModifyIORef' c (\v -> (v + 1, v + 1))
        when (x == total) (putMVar done ())
  return (hit, takeMVar done)

timersEvmgr, timersThreadDelay :: E.Manager -> Int -> IO Double
timersEvmgr mgr t = do
  (hit, wait) <- counter t
  rate t (forM_ [0 .. t - 1] (\i -> E.registerTimeout mgr (i `mod` 1000) hit) >> wait)
timersThreadDelay _ t = do
  (hit, wait) <- counter t
  rate t (forM_ [0 .. t - 1] (\i -> forkIO (threadDelay (i `mod` 1000) >> hit)) >> wait)

median :: [Double] -> Double
median xs = sort xs !! (length xs `div` 2)

main :: IO ()
main = do
  args <- getArgs
  let rounds = case args of (r : _) -> read r; _ -> 5 :: Int
  mgr <- E.new
  _ <- forkIO (E.loop mgr)
  printf "non-threaded RTS, %d round(s), median shown\n\n" rounds
  ts <- replicateM rounds $ (,) <$> timersEvmgr mgr 100000 <*> timersThreadDelay mgr 100000
  printf "| benchmark | evmgr | threadDelay per thread | ratio |\n|---|---:|---:|---:|\n"
  let (a, b) = (median (map fst ts), median (map snd ts))
  printf "| 100,000 timeouts registered+fired/s | %.0f | %.0f | %.2f |\n" a b (a / b)
  E.shutdown mgr
