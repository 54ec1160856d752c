-- | evmgr-process-wait: a non-threaded program that waits for children
-- while another thread keeps ticking every millisecond, once with
-- System.Process.waitForProcess (a blocking waitpid: the whole runtime
-- stops until the child exits) and once with System.Evmgr.Process.
--
-- Usage: evmgr-process-wait [CHILDREN]   (default 200; also waits for one
--        `sleep 0.3`)
module Main (main) where

import Control.Concurrent
import Control.Monad
import Data.IORef
import GHC.Clock (getMonotonicTimeNSec)
import System.Environment (getArgs)
import System.Exit (ExitCode)
import System.Process (ProcessHandle, spawnProcess)
import qualified System.Process as P
import Text.Printf (printf)

import qualified System.Evmgr.Process as E

nowMs :: IO Double
nowMs = (/ 1e6) . fromIntegral <$> getMonotonicTimeNSec

-- | Runs an action while a thread ticks every millisecond; returns the
-- elapsed time, the number of ticks and the longest gap between two.
ticking :: IO () -> IO (Double, Int, Double)
ticking act = do
  stop <- newIORef False
  ticks <- newIORef (0 :: Int)
  gap <- newIORef 0
  done <- newEmptyMVar
  let tick t = do
        s <- readIORef stop
        unless s $ do
          threadDelay 1000
          t' <- nowMs
          modifyIORef' ticks (+ 1)
          modifyIORef' gap (max (t' - t))
          tick t'
  _ <- forkIO ((nowMs >>= tick) >> putMVar done ())
  t0 <- nowMs
  act
  t1 <- nowMs
  writeIORef stop True
  takeMVar done
  (,,) (t1 - t0) <$> readIORef ticks <*> readIORef gap

-- | Spawns n children of `true` and waits for all of them, each from its
-- own thread.
many :: (ProcessHandle -> IO ExitCode) -> Int -> IO ()
many wait n = do
  vs <- replicateM n $ do
    v <- newEmptyMVar
    _ <- forkIO (spawnProcess "true" [] >>= wait >>= putMVar v)
    return v
  mapM_ takeMVar vs

main :: IO ()
main = do
  args <- getArgs
  let n = case args of (a : _) -> read a; _ -> 200
  forM_ [ ("System.Process.waitForProcess", P.waitForProcess)
        , ("System.Evmgr.Process.waitForProcess", E.waitForProcess) ] $
    \(name, wait) -> do
      (t, k, g) <- ticking (spawnProcess "sleep" ["0.3"] >>= void . wait)
      printf "%-36s one `sleep 0.3`: %6.1f ms, %4d ticks, longest gap %6.1f ms\n"
        (name :: String) t k g
      (t', k', g') <- ticking (many wait n)
      printf "%-36s %d x `true`:    %6.1f ms, %4d ticks, longest gap %6.1f ms\n"
        name n t' k' g'
