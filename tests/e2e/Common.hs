{-# LANGUAGE ScopedTypeVariables #-}
-- | Helpers shared by the end-to-end programs (tests/e2e/run.sh).
module Common
  ( nowNs, check, pass, expectIOError, withTimeoutOrDie, pipe, closeFdQuiet
  ) where

import Control.Exception (IOException, try, evaluate)
import Control.Monad (unless)
import GHC.Clock (getMonotonicTimeNSec)
import System.Exit (exitFailure)
import System.IO (hFlush, hPutStrLn, stderr, stdout)
import System.Posix.IO (createPipe, closeFd)
import System.Posix.Types (Fd)
import Control.Concurrent (forkIO, threadDelay)
import Data.IORef
import System.Exit (ExitCode (..))
import System.Posix.Process (exitImmediately)
import Data.Word (Word64)

-- | Monotonic clock, nanoseconds.
nowNs :: IO Word64
nowNs = getMonotonicTimeNSec

-- | Fails the program with a message unless the condition holds.
check :: Bool -> String -> IO ()
check ok what = unless ok $ do
  hPutStrLn stderr ("FAIL: " ++ what)
  exitFailure

-- | The last line of a passing program.
pass :: String -> IO ()
pass name = putStrLn ("PASS " ++ name) >> hFlush stdout

-- | Runs an action that must throw an IOError.
expectIOError :: String -> IO a -> IO ()
expectIOError what act = do
  r <- try (act >>= evaluate . const ())
  case r of
    Left (_ :: IOException) -> return ()
    Right () -> check False (what ++ ": no IOError")

-- | Fails (exits 2) if the action takes more than the given microseconds.
-- A watchdog thread rather than System.Timeout.timeout: it throws nothing
-- into the action (the path under test is not changed by the check), it
-- ends the program even when the action masks exceptions (timeout's
-- exception would wait for the mask to end), and it names the wait that
-- hung. Tests that are about timeout (Cancel, ThrowToMasked) use it on
-- purpose.
withTimeoutOrDie :: Int -> String -> IO a -> IO a
withTimeoutOrDie us what act = do
  finished <- newIORef False
  _ <- forkIO $ do
    threadDelay us
    f <- readIORef finished
    unless f $ do
      hPutStrLn stderr ("FAIL: " ++ what ++ ": timed out")
      exitImmediately (ExitFailure 2)
  x <- act
  writeIORef finished True
  return x

pipe :: IO (Fd, Fd)
pipe = createPipe

closeFdQuiet :: Fd -> IO ()
closeFdQuiet fd = do
  _ <- try (closeFd fd) :: IO (Either IOException ())
  return ()
