-- A Haskell signal handler runs promptly while every thread sleeps.
import Common
import Control.Concurrent
import System.Posix.Process (getProcessID)
import System.Posix.Signals
import System.Process (spawnCommand, waitForProcess)

main :: IO ()
main = do
  got <- newEmptyMVar
  _ <- installHandler sigUSR1 (Catch (putMVar got ())) Nothing
  pid <- getProcessID
  -- a long sleeper, and the main thread blocked on the MVar: nothing runs
  _ <- forkIO (threadDelay 20000000)
  ph <- spawnCommand ("sleep 0.3; kill -USR1 " ++ show pid)
  s <- nowNs
  withTimeoutOrDie 5000000 "signal handler while all threads sleep" (takeMVar got)
  e <- nowNs
  check (e - s < 3000000000) ("the handler ran after " ++ show (e - s) ++ " ns")
  _ <- waitForProcess ph
  pass "signal"
