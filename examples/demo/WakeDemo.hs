-- SPDX-License-Identifier: BSD-3-Clause
--
-- The demonstration behind `make demo`: what the RTS's wait interface costs
-- with many waiting threads. Ordinary code: no evmgr import, no flags. Which
-- RTS it runs on is decided by the compiler that built it.
--
--   WakeDemo pipes N LAPS  N threads, each blocked in threadWaitRead on its
--                          own pipe, woken one by one around a ring
--
-- Each thread's pipe is a named pipe (FIFO) opened read-write, so it costs
-- one fd instead of two: 10,000 of them fit under a 20,000-fd limit.
--   WakeDemo sleepers N    N threads in threadDelay, spread over one second
--
-- Prints one line: "<what> <wake-ups> <seconds> <wake-ups per second>".
{-# LANGUAGE CPP #-}
module Main (main) where

import Control.Concurrent
import Control.Exception (bracket)
import Control.Monad
import GHC.Clock (getMonotonicTime)
import System.Environment (getArgs)
import System.Exit (die)
import System.IO
import System.Directory (createDirectory, getTemporaryDirectory, removeDirectoryRecursive)
import System.Posix.Files (createNamedPipe, ownerReadMode, ownerWriteMode, unionFileModes)
import System.Posix.IO (OpenMode (ReadWrite), defaultFileFlags, fdRead, fdWrite, nonBlock, openFd)
import System.Posix.Process (getProcessID)
import System.Posix.Types (Fd)
import Text.Printf (printf)

main :: IO ()
main = do
  hSetBuffering stdout LineBuffering
  args <- getArgs
  case args of
    ["pipes", n, laps] -> pipes (read n) (read laps)
    ["sleepers", n] -> sleepers (read n)
    _ -> die "usage: WakeDemo pipes N LAPS | WakeDemo sleepers N"

-- A ring of N threads: thread i waits for a byte on its pipe, then writes it
-- to the next thread's pipe. One thread is runnable at a time, so every hop
-- is a full trip through the scheduler's wait: select's cost per hop grows
-- with N (it rebuilds its fd sets from all N waiters), evmgr's should not.
-- unix 2.8 (GHC 9.6) dropped openFd's file-mode argument.
openFdRW :: FilePath -> IO Fd
#if MIN_VERSION_unix(2,8,0)
openFdRW path = openFd path ReadWrite defaultFileFlags {nonBlock = True}
#else
openFdRW path = openFd path ReadWrite Nothing defaultFileFlags {nonBlock = True}
#endif

pipes :: Int -> Int -> IO ()
pipes n laps = do
  fds <- withFifoDir $ \dir -> forM [1 .. n] $ \i -> do
    let path = dir ++ "/" ++ show i
    createNamedPipe path (ownerReadMode `unionFileModes` ownerWriteMode)
    openFdRW path
  -- The directory is gone already (open FIFOs outlive their names), so
  -- nothing is left behind even when select aborts the program.
  let readers = fds
      writers = fds
      nextWriters = drop 1 writers ++ take 1 writers
      hops = n * laps
  finished <- newEmptyMVar
  forM_ (zip3 [1 :: Int ..] readers nextWriters) $ \(i, r, w) ->
    forkIO $ forM_ [1 .. laps] $ \lap -> do
      passByte r
      if i == n && lap == laps then putMVar finished () else void (fdWrite w "x")
  -- Let every thread block first, so the measurement sees N waiters.
  threadDelay 100000
  start <- getMonotonicTime
  _ <- fdWrite (head writers) "x"
  takeMVar finished
  end <- getMonotonicTime
  report "pipes" hops (end - start)
  where
    passByte :: Fd -> IO ()
    passByte r = threadWaitRead r >> void (fdRead r 1)
    withFifoDir act = do
      tmp <- getTemporaryDirectory
      pid <- getProcessID
      let dir = tmp ++ "/wakedemo-" ++ show pid
      bracket (createDirectory dir >> return dir) removeDirectoryRecursive act

-- N threads sleep for delays spread evenly over one second; each checks it
-- did not wake early. The whole run should take about one second.
sleepers :: Int -> IO ()
sleepers n = do
  remaining <- newMVar n
  allDone <- newEmptyMVar
  early <- newMVar (0 :: Int)
  start <- getMonotonicTime
  forM_ [1 .. n] $ \i -> forkIO $ do
    let us = (i * 1000000) `div` n
    t0 <- getMonotonicTime
    threadDelay us
    t1 <- getMonotonicTime
    when ((t1 - t0) * 1e6 < fromIntegral us) $ modifyMVar_ early (return . (+ 1))
    left <- modifyMVar remaining (\k -> return (k - 1, k - 1))
    when (left == 0) $ putMVar allDone ()
  takeMVar allDone
  end <- getMonotonicTime
  woke <- readMVar early
  when (woke > 0) $ hPutStrLn stderr (show woke ++ " threads woke early")
  report "sleepers" n (end - start)

report :: String -> Int -> Double -> IO ()
report what count secs =
  printf "%s %d %.3f %.0f\n" what count secs (fromIntegral count / secs)
