{-# LANGUAGE ExistentialQuantification #-}
{-# LANGUAGE ScopedTypeVariables #-}
-- | Tests of the modules on the process-wide manager: System.Evmgr.Process
-- (both mechanisms) and System.Evmgr.Timer. Built into both test suites,
-- so they run in both RTS flavours; the scenarios of the timer tests are
-- also run on GHC.Event where it works (the threaded RTS), as a reference.
module SystemTests (systemTests) where

import Control.Concurrent
import Control.Exception
import Control.Monad
import Data.IORef
import GHC.Clock (getMonotonicTimeNSec)
import GHC.Conc (atomically, orElse, readTVar, retry)
import qualified GHC.Event as GE
import System.Environment (lookupEnv)
import System.Exit (ExitCode (..))
import System.IO (hPutStrLn, stderr)
import System.Process (ProcessHandle, proc, createProcess, spawnProcess)
import qualified System.Process as P
import System.Timeout (timeout)
import Test.Tasty
import Test.Tasty.HUnit

import System.Evmgr (getSystemManager)
import System.Evmgr.Process
import qualified System.Evmgr.Timer as T

systemTests :: [TestTree]
systemTests =
  [ testGroup ("System.Evmgr.Process, " ++ show w) (processTests w)
  | w <- [WatchPidfd, WatchSigchld] ] ++
  [ testGroup "System.Evmgr.Timer" timerTests ]

------------------------------------------------------------------------------
-- Helpers

nowMs :: IO Double
nowMs = (/ 1e6) . fromIntegral <$> getMonotonicTimeNSec

-- | Runs an action while another thread ticks every millisecond
-- (Control.Concurrent.threadDelay); returns the longest gap between ticks
-- in ms. A blocked runtime shows as a long gap.
withTicker :: IO a -> IO (a, Double)
withTicker act = do
  stop <- newIORef False
  gap <- newIORef 0
  done <- newEmptyMVar
  let tick t = do
        stopped <- readIORef stop
        unless stopped $ do
          threadDelay 1000
          t' <- nowMs
          modifyIORef' gap (max (t' - t))
          tick t'
  _ <- forkIO ((nowMs >>= tick) `finally` putMVar done ())
  threadDelay 5000  -- the ticker is running
  r <- act `finally` writeIORef stop True
  takeMVar done
  g <- readIORef gap
  return (r, g)

-- | With EVMGR_TEST_GAPS set, prints a measured gap (to study flakiness).
gapReport :: String -> Double -> IO ()
gapReport what g = do
  v <- lookupEnv "EVMGR_TEST_GAPS"
  when (v /= Nothing) $ hPutStrLn stderr ("gap " ++ what ++ ": " ++ show g ++ " ms")

awaitJust :: String -> Int -> IO a -> IO a
awaitJust what us act = timeout us act >>= maybe (assertFailure (what ++ ": timed out")) return

sh :: String -> IO ProcessHandle
sh script = do
  (_, _, _, ph) <- createProcess (proc "/bin/sh" ["-c", script])
  return ph

------------------------------------------------------------------------------
-- Processes

processTests :: Watch -> [TestTree]
processTests w =
  [ testCase "exit codes and signals are reported as process reports them" $
      forM_ [ ("exit 0", ExitSuccess), ("exit 3", ExitFailure 3)
            , ("exit 255", ExitFailure 255), ("kill -9 $$", ExitFailure (-9))
            , ("kill -TERM $$", ExitFailure (-15)) ] $ \(script, want) -> do
        ph <- sh script
        e <- awaitJust script 5000000 (waitForProcessWith w ph)
        assertEqual script want e
        -- No double reap: process's own functions see the stored code.
        P.getProcessExitCode ph >>= assertEqual (script ++ ", process getProcessExitCode") (Just want)
        P.waitForProcess ph >>= assertEqual (script ++ ", process waitForProcess") want
        waitForProcessWith w ph >>= assertEqual (script ++ ", again") want

  , testCase "a child that runs 1 s does not stop other threads" $ do
      -- A wait that blocked the runtime would show as a gap of the whole
      -- second; 500 ms leaves room for a loaded machine's own stalls (up
      -- to 300 ms were seen at load 12, in the threaded RTS too).
      t0 <- nowMs
      (e, gap) <- withTicker $ do
        ph <- spawnProcess "sleep" ["1"]
        awaitJust "sleep" 5000000 (waitForProcessWith w ph)
      t1 <- nowMs
      e @?= ExitSuccess
      assertBool ("waited " ++ show (t1 - t0) ++ " ms") (t1 - t0 >= 990)
      assertBool ("longest gap between ticks " ++ show gap ++ " ms") (gap < 500)

  , testCase "getProcessExitCode never blocks, and agrees with process" $ do
      ph <- spawnProcess "sleep" ["0.2"]
      r0 <- getProcessExitCode ph
      r0 @?= Nothing
      -- process's own poller races ours; whoever reaps, both see the code.
      seen <- newEmptyMVar
      _ <- forkIO $ let go = P.getProcessExitCode ph >>= maybe (threadDelay 500 >> go) (putMVar seen)
                    in go
      e <- awaitJust "wait" 5000000 (waitForProcessWith w ph)
      e @?= ExitSuccess
      other <- awaitJust "process poller" 2000000 (takeMVar seen)
      other @?= ExitSuccess
      getProcessExitCode ph >>= (@?= Just ExitSuccess)

  , testCase "a wait cut short by timeout leaves the child to a later wait" $ do
      ph <- spawnProcess "sleep" ["0.2"]
      r <- timeout 20000 (waitForProcessWith w ph)
      r @?= Nothing
      e <- awaitJust "second wait" 5000000 (waitForProcessWith w ph)
      e @?= ExitSuccess

  , testCase (show n ++ " short children at once while a thread ticks") $ do
      -- Spawned first, from one thread: each spawn is a fork in a foreign
      -- call, which stops the non-threaded runtime for a moment, and with a
      -- thousand threads each spawning, the ticker waited its turn behind
      -- hundreds of them (a 370 ms gap under load, which measured the
      -- spawning, not the waits). Every tenth child sleeps 1 s, so that
      -- waits are still pending when the ticker is measured, and a wait
      -- that blocked the runtime would show as a gap of a second (the
      -- limit, 500 ms, leaves room for a loaded machine's own stalls).
      phs <- forM [1 .. n] $ \i -> case () of
        _ | i `mod` 10 == 0 -> spawnProcess "sleep" ["1"]
          | even i -> spawnProcess "true" []
          | otherwise -> spawnProcess "false" []
      (codes, gap) <- withTicker $ do
        vars <- forM phs $ \ph -> do
          v <- newEmptyMVar
          _ <- forkIO $ do
            r <- try $ do
              e <- waitForProcessWith w ph
              -- reaped, and process agrees
              e' <- P.getProcessExitCode ph
              return (e, e')
            putMVar v r
          return v
        forM vars $ \v -> awaitJust "children" 60000000 (takeMVar v)
      forM_ (zip [1 :: Int ..] codes) $ \(i, r) -> case r of
        Left (ex :: SomeException) -> assertFailure ("child " ++ show i ++ ": " ++ show ex)
        Right (e, e') -> do
          let want = if even i then ExitSuccess else ExitFailure 1
          assertEqual ("child " ++ show i) want e
          assertEqual ("child " ++ show i ++ ", process") (Just want) e'
      gapReport ("children " ++ show w) gap
      assertBool ("longest gap between ticks " ++ show gap ++ " ms") (gap < 500)
  ]
  where
    n = 1000 :: Int

------------------------------------------------------------------------------
-- Timers

-- | The timer scenario, on any implementation of GHC.Event's timer API:
-- three timeouts, one moved earlier, one cancelled, one left; returns the
-- order in which they fired.
data TimerApi = forall k. TimerApi
  (Int -> IO () -> IO k)  -- register
  (k -> Int -> IO ())     -- update
  (k -> IO ())            -- unregister

scenario :: TimerApi -> IO [String]
scenario (TimerApi reg upd unreg) = do
  out <- newIORef []
  done <- newEmptyMVar
  let rec s = atomicModifyIORef' out (\xs -> (s : xs, ()))
  k1 <- reg 200000 (rec "moved earlier")
  k2 <- reg 20000 (rec "cancelled")
  _ <- reg 40000 (rec "fixed")
  k4 <- reg 10000 (rec "moved later")
  upd k1 20000
  unreg k2
  upd k4 60000
  _ <- reg 80000 (putMVar done ())
  awaitJust "scenario" 2000000 (takeMVar done)
  reverse <$> readIORef out

evmgrApi :: IO TimerApi
evmgrApi = do
  tm <- T.getSystemTimerManager
  return (TimerApi (T.registerTimeout tm) (T.updateTimeout tm) (T.unregisterTimeout tm))

ghcApi :: IO TimerApi
ghcApi = do
  tm <- GE.getSystemTimerManager
  return (TimerApi (GE.registerTimeout tm) (GE.updateTimeout tm) (GE.unregisterTimeout tm))

timerTests :: [TestTree]
timerTests =
  [ testCase "registerTimeout/updateTimeout/unregisterTimeout on the system manager" $ do
      order <- evmgrApi >>= scenario
      order @?= expected
      when rtsSupportsBoundThreads $ do
        ref <- ghcApi >>= scenario
        assertEqual "GHC.Event, same scenario" expected ref

  , testCase "getSystemTimerManager is one manager" $ do
      a <- T.getSystemTimerManager
      b <- getSystemManager
      assertBool "same" (a == b)

  , testCase "registerDelay: False before, True after, never early" $ do
      t0 <- getMonotonicTimeNSec
      tv <- T.registerDelay 30000
      v0 <- atomically (readTVar tv)
      v0 @?= False
      awaitJust "registerDelay" 2000000 $ atomically (readTVar tv >>= \b -> unless b retry)
      t1 <- getMonotonicTimeNSec
      assertBool ("after " ++ show (t1 - t0) ++ " ns") (t1 - t0 >= 30000000)

  , testCase "registerDelay as an STM timeout, with other threads running" $ do
      ((), gap) <- withTicker $ do
        never <- newEmptyMVar :: IO (MVar ())
        box <- T.registerDelay 10000000 -- never fires within the test
        -- 1 s: a delay that blocked the runtime would show as a gap of the
        -- whole second; 500 ms leaves room for a loaded machine's stalls.
        tv <- T.registerDelay 1000000
        r <- atomically $ (readTVar box >>= \b -> if b then return "box" else retry)
                `orElse` (readTVar tv >>= \b -> if b then return "timeout" else retry)
        r @?= "timeout"
        _ <- tryPutMVar never ()
        return ()
      assertBool ("longest gap between ticks " ++ show gap ++ " ms") (gap < 500)

  , testCase "threadDelay: 1000 threads sleeping at once" $ do
      done <- newEmptyMVar
      t0 <- getMonotonicTimeNSec
      forM_ [1 .. 1000 :: Int] $ \i ->
        forkIO (T.threadDelay (1000 * (i `mod` 50)) >> putMVar done ())
      replicateM_ 1000 (awaitJust "sleepers" 5000000 (takeMVar done))
      t1 <- getMonotonicTimeNSec
      assertBool ("took " ++ show (t1 - t0) ++ " ns") (t1 - t0 >= 49000000)
  ]
  where
    expected = ["moved earlier", "fixed", "moved later"]
