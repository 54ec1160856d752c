{-# LANGUAGE ScopedTypeVariables #-}
-- | Tests of the evmgr binding. The same source builds two suites,
-- test-threaded (-threaded -N2) and test-nonthreaded, so every behaviour is
-- checked in both RTS flavours; fd tests run once per available back-end.
module Main (main) where

import Control.Concurrent
import Control.Exception
import Control.Monad
import Data.IORef
import Data.List (sort)
import qualified Data.Map.Strict as M
import Data.Word (Word64)
import GHC.Clock (getMonotonicTimeNSec)
import GHC.Stats (getRTSStats, gcdetails_live_bytes, gc)
import Network.Socket (Family (AF_UNIX), SocketType (Stream), socketPair,
                       unsafeFdSocket, close)
import System.Environment (lookupEnv, setEnv)
import System.Mem (performMajorGC)
import System.Posix.IO (closeFd, createPipe, fdRead, fdWrite)
import System.Posix.Types (Fd (..))
import System.Process (spawnProcess, terminateProcess, waitForProcess)
import System.Timeout (timeout)
import Test.QuickCheck
import qualified Test.QuickCheck.Monadic as QCM
import Test.QuickCheck.Monadic (monadicIO, monitor, run)
import Test.Tasty
import Test.Tasty.HUnit
import Test.Tasty.QuickCheck (testProperty)

import System.Evmgr
import SystemTests (systemTests)

main :: IO ()
main = do
  -- One test at a time: the tests measure timing, and one closes an fd
  -- whose number a test running in parallel could reuse at once.
  lookupEnv "TASTY_NUM_THREADS" >>= maybe (setEnv "TASTY_NUM_THREADS" "1") (const (return ()))
  backends <- filterM backendAvailable [Epoll, Poll, Kqueue, IoUring]
  defaultMain $ testGroup flavour $
    [ testGroup ("fd events, " ++ show b) (fdTests b) | b <- backends ] ++
    [ testGroup "timeouts" timeoutTests
    , testGroup "threads" threadTests
    , testGroup "errors and shutdown" errorTests
    , testProperty "timers behave like the model" prop_timerModel
    , testGroup "process-wide manager" systemTests
    , testGroup "no leak" leakTests
    , testGroup "stress" (stressTests backends)
    ]
  where
    flavour | rtsSupportsBoundThreads = "threaded RTS"
            | otherwise = "non-threaded RTS"

------------------------------------------------------------------------------
-- Helpers

-- | Runs the action with a manager whose 'loop' runs in another thread;
-- shuts it down afterwards and checks the loop returned.
withRunning :: Backend -> (Manager -> IO a) -> IO a
withRunning b act = do
  mgr <- newWith b
  done <- newEmptyMVar
  _ <- forkIO (loop mgr `finally` putMVar done ())
  r <- act mgr `finally` shutdown mgr
  ok <- timeout 2000000 (takeMVar done)
  ok @?= Just ()
  return r

-- | Waits (up to 2 s) for an MVar.
await :: String -> MVar a -> IO a
await what mv = timeout 2000000 (takeMVar mv) >>= \r -> case r of
  Just x -> return x
  Nothing -> assertFailure ("timed out waiting for " ++ what)

-- | Runs numbered rounds of an action for the given number of seconds.
rounds :: Double -> (Int -> IO ()) -> IO ()
rounds secs act = do
  t0 <- getMonotonicTimeNSec
  let stop = t0 + round (secs * 1e9)
      go i = do
        act i
        now <- getMonotonicTimeNSec
        when (now < stop) (go (i + 1))
  go 1

-- | Polls a condition every ms for up to 2 s.
eventually :: String -> IO Bool -> IO ()
eventually what cond = go (2000 :: Int)
  where go 0 = assertFailure ("never happened: " ++ what)
        go n = cond >>= \ok -> unless ok (threadDelay 1000 >> go (n - 1))

withPipe :: ((Fd, Fd) -> IO a) -> IO a
withPipe = bracket createPipe (\(r, w) -> try' (closeFd r) >> try' (closeFd w))
  where try' a = void (try a :: IO (Either IOException ()))

withSocketPair :: ((Fd, Fd) -> IO a) -> IO a
withSocketPair act =
  bracket (socketPair AF_UNIX Stream 0) (\(a, b) -> close a >> close b) $
    \(a, b) -> do
      fa <- unsafeFdSocket a
      fb <- unsafeFdSocket b
      act (Fd fa, Fd fb)

------------------------------------------------------------------------------
-- fd events

fdTests :: Backend -> [TestTree]
fdTests b =
  [ testCase "pipe: one-shot read fires once" $ withRunning b $ \mgr ->
      withPipe $ \(r, w) -> do
        hits <- newIORef (0 :: Int)
        got <- newEmptyMVar
        let cb k e = modifyIORef' hits (+ 1) >> putMVar got (keyFd k, e)
        _ <- registerFd mgr cb r evtRead OneShot
        _ <- fdWrite w "x"
        (fd, e) <- await "read event" got
        fd @?= r
        assertBool "evtRead" (e `eventIs` evtRead)
        _ <- fdWrite w "y"
        threadDelay 50000
        readIORef hits >>= (@?= 1)
        callbackCount mgr >>= (@?= 0)

  , testCase "pipe: multi-shot read is level-triggered until unregistered" $
      withRunning b $ \mgr -> withPipe $ \(r, w) -> do
        hits <- newIORef (0 :: Int)
        k <- registerFd mgr (\_ _ -> modifyIORef' hits (+ 1)) r evtRead MultiShot
        _ <- fdWrite w "x"
        eventually "several events" ((>= 3) <$> readIORef hits)
        unregisterFd mgr k
        threadDelay 20000
        n1 <- readIORef hits
        threadDelay 50000
        n2 <- readIORef hits
        n2 @?= n1
        callbackCount mgr >>= (@?= 0)

  , testCase "pipe: nothing fires before data arrives" $
      withRunning b $ \mgr -> withPipe $ \(r, w) -> do
        got <- newEmptyMVar
        _ <- registerFd mgr (\_ _ -> putMVar got ()) r evtRead OneShot
        threadDelay 50000
        tryTakeMVar got >>= (@?= Nothing)
        _ <- fdWrite w "x"
        await "read event" got

  , testCase "pipe: EOF (writer closed) is readable" $
      withRunning b $ \mgr -> withPipe $ \(r, w) -> do
        got <- newEmptyMVar
        _ <- registerFd mgr (\_ e -> putMVar got e) r evtRead OneShot
        closeFd w
        e <- await "EOF event" got
        assertBool "evtRead" (e `eventIs` evtRead)

  , testCase "socketpair: writable at once, readable after a write" $
      withRunning b $ \mgr -> withSocketPair $ \(a, c) -> do
        wr <- newEmptyMVar
        _ <- registerFd mgr (\_ e -> putMVar wr e) a evtWrite OneShot
        e <- await "write event" wr
        assertBool "evtWrite" (e `eventIs` evtWrite)
        assertBool "not evtRead" (not (e `eventIs` evtRead))
        rd <- newEmptyMVar
        _ <- registerFd mgr (\_ e' -> putMVar rd e') c evtRead OneShot
        _ <- fdWrite a "ping"
        e2 <- await "read event" rd
        assertBool "evtRead" (e2 `eventIs` evtRead)
        (s, _) <- fdRead c 4
        s @?= "ping"

  , testCase "socketpair: two registrations on one fd both fire" $
      withRunning b $ \mgr -> withSocketPair $ \(a, _) -> do
        m1 <- newEmptyMVar
        m2 <- newEmptyMVar
        _ <- registerFd mgr (\_ _ -> putMVar m1 ()) a evtWrite OneShot
        _ <- registerFd mgr (\_ _ -> putMVar m2 ()) a evtWrite OneShot
        await "first" m1
        await "second" m2

  , testCase "unregisterFd twice is harmless" $
      withRunning b $ \mgr -> withPipe $ \(r, w) -> do
        hits <- newIORef (0 :: Int)
        k <- registerFd mgr (\_ _ -> modifyIORef' hits (+ 1)) r evtRead MultiShot
        unregisterFd mgr k
        unregisterFd mgr k
        _ <- fdWrite w "x"
        threadDelay 30000
        readIORef hits >>= (@?= 0)
        pendingCount mgr >>= (@?= 0)

  , testCase "registering a closed fd throws an IOError naming it" $ do
      mgr <- newWith b
      (r, w) <- createPipe
      closeFd r >> closeFd w
      res <- try (registerFd mgr (\_ _ -> return ()) r evtRead OneShot)
      case res of
        Left (e :: IOException) ->
          assertBool ("names the fd: " ++ show e)
            (("fd " ++ show (fromIntegral r :: Int)) `isIn` show e)
        Right _ -> assertFailure "no exception"
      callbackCount mgr >>= (@?= 0)
      shutdown mgr

  , testCase "an fd closed while registered reports evtClose" $
      withRunning b $ \mgr -> do
        -- The loop is blocked with nothing registered when the fd arrives:
        -- the core must still start its periodic closed-fd check.
        threadDelay 20000
        (r, w) <- createPipe
        got <- newEmptyMVar
        _ <- registerFd mgr (\_ e -> putMVar got e) r evtRead MultiShot
        closeFd r
        e <- await "close event" got
        assertBool ("evtClose in " ++ show e) (e `eventIs` evtClose)
        closeFd w
        eventually "registration gone" ((== 0) <$> callbackCount mgr)

  , testCase "waitRead and waitWrite" $ withRunning b $ \mgr ->
      withSocketPair $ \(a, c) -> do
        waitWrite mgr a
        done <- newEmptyMVar
        _ <- forkIO (waitRead mgr c >> putMVar done ())
        threadDelay 20000
        tryTakeMVar done >>= (@?= Nothing)
        _ <- fdWrite a "x"
        await "waitRead" done
  ]
  where isIn needle hay = any (needle `prefixOf`) (suffixes hay)
        prefixOf p s = take (length p) s == p
        suffixes s = s : case s of { [] -> []; (_ : t) -> suffixes t }

------------------------------------------------------------------------------
-- Timeouts

timeoutTests :: [TestTree]
timeoutTests =
  [ testCase "timeouts fire in deadline order, ties in registration order" $
      withRunning Auto $ \mgr -> do
        out <- newIORef []
        done <- newEmptyMVar
        let rec x = modifyIORef' out (x :)
        forM_ [(30, "c"), (10, "a"), (20, "b1"), (20, "b2"), (20, "b3")] $
          \(ms, l) -> registerTimeout mgr (ms * 1000) (rec l)
        _ <- registerTimeout mgr 40000 (putMVar done ())
        await "last timeout" done
        reverse <$> readIORef out >>= (@?= ["a", "b1", "b2", "b3", "c"])

  , testCase "a timeout never fires early" $ withRunning Auto $ \mgr -> do
      done <- newEmptyMVar
      t0 <- getMonotonicTimeNSec
      _ <- registerTimeout mgr 30000 (getMonotonicTimeNSec >>= putMVar done)
      t1 <- await "timeout" done
      assertBool "not early" (t1 - t0 >= 30000000)

  , testCase "updateTimeout moves, unregisterTimeout cancels" $
      withRunning Auto $ \mgr -> do
        out <- newIORef []
        done <- newEmptyMVar
        let rec x = modifyIORef' out (x :)
        k1 <- registerTimeout mgr 500000 (rec "moved earlier")
        k2 <- registerTimeout mgr 10000 (rec "cancelled")
        k3 <- registerTimeout mgr 5000 (rec "moved later")
        _ <- registerTimeout mgr 30000 (rec "fixed")
        updateTimeout mgr k1 15000
        unregisterTimeout mgr k2
        updateTimeout mgr k3 45000
        _ <- registerTimeout mgr 60000 (putMVar done ())
        await "last timeout" done
        reverse <$> readIORef out
          >>= (@?= ["moved earlier", "fixed", "moved later"])
        -- stale keys: harmless
        unregisterTimeout mgr k2
        updateTimeout mgr k1 1000
        threadDelay 10000
        length <$> readIORef out >>= (@?= 3)

  , testCase "huge and negative timeouts are valid" $ withRunning Auto $ \mgr -> do
      done <- newEmptyMVar
      k <- registerTimeout mgr maxBound (putMVar done "huge")
      _ <- registerTimeout mgr (-5) (putMVar done "negative")
      await "negative" done >>= (@?= "negative")
      unregisterTimeout mgr k

  , testCase "sleep" $ withRunning Auto $ \mgr -> do
      t0 <- getMonotonicTimeNSec
      sleep mgr 20000
      t1 <- getMonotonicTimeNSec
      assertBool "slept" (t1 - t0 >= 20000000)

  , testCase "step: 0 just looks, a due timeout is handled" $ do
      mgr <- new
      step mgr 0 >>= (@?= 0)
      hit <- newIORef False
      _ <- registerTimeout mgr 1000 (writeIORef hit True)
      n <- step mgr 1000000
      n @?= 1
      readIORef hit >>= (@?= True)
      shutdown mgr
  ]

------------------------------------------------------------------------------
-- Threads

threadTests :: [TestTree]
threadTests =
  [ testCase "forkLoop: the loop runs on another capability (if any), andThen sees its end" $ do
      mgr <- newWith Auto
      ended <- newEmptyMVar
      creator <- fst <$> (threadCapability =<< myThreadId)
      caps <- getNumCapabilities
      where_ <- newEmptyMVar
      _ <- registerTimeout mgr 0 (myThreadId >>= threadCapability >>= putMVar where_ . fst)
      _ <- forkLoop mgr (putMVar ended)
      loopCap <- await "the first callback" where_
      -- Note [The loop's capability]: never the creator's when there are two.
      if caps >= 2 then assertBool "another capability" (loopCap /= creator)
                   else loopCap @?= creator
      shutdown mgr
      r <- await "the loop's end" ended
      either (assertFailure . show) return r

  , testCase "a registration from another thread wakes an idle loop" $
      withRunning Auto $ \mgr -> do
        threadDelay 20000  -- the loop is now waiting with nothing registered
        done <- newEmptyMVar
        t0 <- getMonotonicTimeNSec
        _ <- registerTimeout mgr 1000 (getMonotonicTimeNSec >>= putMVar done)
        t1 <- await "timeout" done
        assertBool ("prompt: " ++ show ((t1 - t0) `div` 1000) ++ " us")
          (t1 - t0 < 100000000)

  , testCase "an fd registered from another thread is watched at once" $
      withRunning Auto $ \mgr -> withPipe $ \(r, w) -> do
        threadDelay 20000
        done <- newEmptyMVar
        _ <- forkIO $ void $
          registerFd mgr (\_ _ -> putMVar done ()) r evtRead OneShot
        threadDelay 10000
        _ <- fdWrite w "x"
        await "read event" done

  , testCase "other Haskell threads keep running while the loop waits" $
      withRunning Auto $ \mgr -> do
        -- A ticker records the longest gap between its ticks while the
        -- loop waits 300 ms for a timeout. Were the loop blocking the RTS
        -- in C (non-threaded RTS), the gap would be the whole wait.
        threadDelay 10000
        done <- newEmptyMVar
        ticks <- newIORef (0 :: Int)
        gap <- newIORef 0
        stop <- newIORef False
        t0 <- getMonotonicTimeNSec
        _ <- forkIO $ let go prev = do
                            threadDelay 1000
                            now <- getMonotonicTimeNSec
                            modifyIORef' ticks (+ 1)
                            modifyIORef' gap (max (now - prev))
                            s <- readIORef stop
                            unless s (go now)
                      in go t0
        _ <- registerTimeout mgr 300000 (putMVar done ())
        await "timeout" done
        writeIORef stop True
        n <- readIORef ticks
        g <- readIORef gap
        assertBool ("ticks: " ++ show n) (n > 20)
        assertBool ("longest gap: " ++ show (g `div` 1000000) ++ " ms")
          (g < 100000000)

  , testCase "shutdown from another thread ends an idle loop" $ do
      mgr <- new
      done <- newEmptyMVar
      _ <- forkIO (loop mgr >> putMVar done ())
      threadDelay 20000
      shutdown mgr
      await "loop end" done

  , testCase "shutdown right after a callback ends the loop (lost wake-up)" $
      -- The loop can be preempted between its last look at 'isShutDown'
      -- and its next poll; a shutdown made there used to have its wake-up
      -- swallowed by that poll, and the loop then waited forever. Where the
      -- preemption falls depends on allocation and GC, so many rounds.
      rounds 2 $ \i -> do
        mgr <- new
        done <- newEmptyMVar
        _ <- forkIO (loop mgr `finally` putMVar done ())
        fired <- newEmptyMVar
        _ <- registerTimeout mgr 0 (putMVar fired ())
        await "callback" fired
        shutdown mgr
        await ("loop end after shutdown, round " ++ show i) done

  , testCase "killThread stops the loop; the manager stays usable" $ do
      mgr <- new
      done <- newEmptyMVar
      tid <- forkIO (loop mgr `finally` putMVar done ())
      threadDelay 20000
      killThread tid
      await "loop end" done
      hit <- newEmptyMVar
      _ <- registerTimeout mgr 0 (putMVar hit ())
      _ <- step mgr 1000000
      await "timeout after restart" hit
      shutdown mgr

  , testCase "registrations racing from many threads" $
      withRunning Auto $ \mgr -> do
        count <- newIORef (0 :: Int)
        dones <- forM [1 .. 8 :: Int] $ \_ -> do
          d <- newEmptyMVar
          _ <- forkIO $ do
            replicateM_ 500 $ registerTimeout mgr 0 $
              atomicModifyIORef' count (\c -> (c + 1, ()))
            putMVar d ()
          return d
        mapM_ (await "registering thread") dones
        eventually "4000 timeouts" ((== 4000) <$> readIORef count)
  ]

------------------------------------------------------------------------------
-- Errors and shutdown

errorTests :: [TestTree]
errorTests =
  [ testCase "a throwing callback goes to the handler; the loop goes on" $
      withRunning Auto $ \mgr -> do
        errs <- newEmptyMVar
        setExceptionHandler mgr (putMVar errs . show)
        done <- newEmptyMVar
        _ <- registerTimeout mgr 0 (throwIO (userError "boom"))
        _ <- registerTimeout mgr 10000 (putMVar done ())
        e <- await "handler" errs
        e @?= "user error (boom)"
        await "later timeout" done

  , testCase "a handler that rethrows ends loop with the exception" $ do
      mgr <- new
      setExceptionHandler mgr throwIO
      _ <- registerTimeout mgr 0 (throwIO (userError "fatal"))
      r <- try (loop mgr)
      case r of
        Left (e :: IOException) -> show e @?= "user error (fatal)"
        Right () -> assertFailure "loop returned"
      shutdown mgr

  , testCase "shutdown drops pending registrations without calling them" $ do
      mgr <- new
      done <- newEmptyMVar
      _ <- forkIO (loop mgr >> putMVar done ())
      hits <- newIORef (0 :: Int)
      withPipe $ \(r, _) -> do
        replicateM_ 10 $ registerFd mgr (\_ _ -> modifyIORef' hits (+ 1)) r evtRead MultiShot
        replicateM_ 10 $ registerTimeout mgr 50000 (modifyIORef' hits (+ 1))
        waiter <- newEmptyMVar
        _ <- forkIO $ try (waitRead mgr r) >>= putMVar waiter
        threadDelay 10000
        shutdown mgr
        await "loop end" done
        w <- await "waitRead" waiter
        w @?= Left (ManagerShutDown "waitRead")
      threadDelay 80000
      readIORef hits >>= (@?= 0)
      callbackCount mgr >>= (@?= 0)
      pendingCount mgr >>= (@?= 0)

  , testCase "use after shutdown throws, never crashes" $ do
      mgr <- new
      k <- registerTimeout mgr 1000000 (return ())
      shutdown mgr
      shutdown mgr
      isShutDown mgr >>= (@?= True)
      r1 <- try (registerTimeout mgr 1 (return ()))
      r1 @?= Left (ManagerShutDown "registerTimeout")
      r2 <- try (registerFd mgr (\_ _ -> return ()) 0 evtRead OneShot)
      either (\e -> e @?= ManagerShutDown "registerFd") (\_ -> assertFailure "registered") r2
      r3 <- try (updateTimeout mgr k 5)
      r3 @?= Left (ManagerShutDown "updateTimeout")
      r4 <- try (loop mgr)
      r4 @?= Left (ManagerShutDown "loop")
      r5 <- try (step mgr 0)
      either (\e -> e @?= ManagerShutDown "step") (\_ -> assertFailure "stepped") r5
      unregisterTimeout mgr k  -- harmless

  , testCase "shutdown racing registrations from other threads" $ do
      mgr <- new
      loopDone <- newEmptyMVar
      _ <- forkIO (loop mgr >> putMVar loopDone ())
      results <- forM [1 .. 4 :: Int] $ \_ -> do
        r <- newEmptyMVar
        _ <- forkIO $ do
          let go :: Int -> IO Int
              go n = do
                k <- registerTimeout mgr (n `mod` 3) (return ())
                when (even n) (unregisterTimeout mgr k)
                go (n + 1)
          res <- try (go 0)
          putMVar r res
        return r
      threadDelay 50000
      shutdown mgr
      await "loop end" loopDone
      forM_ results $ \r -> do
        res <- await "registering thread" r
        either (\e -> e @?= ManagerShutDown "registerTimeout")
               (\_ -> assertFailure "no exception") res
      callbackCount mgr >>= (@?= 0)

  , testCase "shutdown from inside a callback" $ do
      mgr <- new
      _ <- registerTimeout mgr 0 (shutdown mgr)
      later <- newIORef False
      _ <- registerTimeout mgr 0 (writeIORef later True)
      r <- timeout 2000000 (loop mgr)
      r @?= Just ()
      readIORef later >>= (@?= False)

  , testCase "a second loop is refused" $ withRunning Auto $ \mgr -> do
      threadDelay 10000
      r <- try (step mgr 0)
      either (\e -> e @?= LoopAlreadyRunning "step") (\_ -> assertFailure "ran") r

  , testCase "registerFd with no read/write interest is EINVAL" $ do
      mgr <- new
      withPipe $ \(r, _) -> do
        res <- try (registerFd mgr (\_ _ -> return ()) r evtClose OneShot)
        case res of
          Left (_ :: IOException) -> return ()
          Right _ -> assertFailure "registered"
      shutdown mgr
  ]

------------------------------------------------------------------------------
-- Timer model

-- | A timer operation: add a timer (delay in 10 ms units), cancel or move
-- the i-th added timer (modulo the number added so far).
data Op = Add Int | Cancel Int | Update Int Int
  deriving (Show)

instance Arbitrary Op where
  arbitrary = frequency
    [ (5, Add <$> choose (0, 4))
    , (1, Cancel <$> choose (0, 20))
    , (2, Update <$> choose (0, 20) <*> choose (0, 4)) ]
  shrink (Add d) = Add <$> shrink d
  shrink (Cancel i) = Cancel <$> shrink i
  shrink (Update i d) = (Update i <$> shrink d) ++ (flip Update d <$> shrink i)

-- | The model of which timers fire: a map from timer id to the sequence
-- number of its last set; cancels remove. Returns the ids that fire.
model :: [Op] -> [Int]
model = done . foldl apply (M.empty, 0, 0 :: Int)
  where
    apply (m, n, s) (Add _) = (M.insert n s m, n + 1, s + 1)
    apply (m, n, s) (Cancel i) | n > 0 = (M.delete (i `mod` n) m, n, s + 1)
    apply (m, n, s) (Update i _)
      | n > 0, M.member (i `mod` n) m = (M.insert (i `mod` n) s m, n, s + 1)
    apply st _ = st
    done (m, _, _) = M.keys m

-- | Where a timer's deadline lies, as measured around its last set: the
-- clock before the call plus the delay, the clock after it plus the delay,
-- and the sequence number of that set.
data Bounds = Bounds { bLow :: !Word64, bHigh :: !Word64, bSeq :: !Int }
  deriving (Show)

-- | Whether timer @a@ must fire before timer @b@: its deadline is surely
-- earlier, or surely not later and it was set first (ties fire in the order
-- of registration). Delays come in 10 ms units and ops run microseconds
-- apart, so on a quiet machine this orders every pair with different
-- delays; under load an op may be descheduled for longer than a unit, and
-- then only the measured deadlines tell which must come first.
mustPrecede :: Bounds -> Bounds -> Bool
mustPrecede a b = bHigh a < bLow b || (bHigh a <= bLow b && bSeq a < bSeq b)

prop_timerModel :: Property
prop_timerModel = withMaxSuccess 40 $ forAll (resize 25 (listOf arbitrary)) $
  \ops -> monadicIO $ do
    (fired, early, bounds) <- run $ do
      mgr <- new
      out <- newIORef []
      earlyRef <- newIORef False
      keys <- newIORef M.empty
      seqRef <- newIORef (0 :: Int)
      let unit = 10000  -- us
          -- Measures the deadline that a set with delay d gives.
          measured d act = do
            s <- readIORef seqRef
            writeIORef seqRef (s + 1)
            lo <- getMonotonicTimeNSec
            r <- act
            hi <- getMonotonicTimeNSec
            let us = fromIntegral (d * unit * 1000)
            return (r, Bounds (lo + us) (hi + us) s)
          exec n (Add d) = do
            dl <- newIORef (Bounds 0 0 0)
            let cb = do
                  t <- getMonotonicTimeNSec
                  b <- readIORef dl
                  when (t < bLow b) $ writeIORef earlyRef True
                  modifyIORef' out (n :)
            (k, b) <- measured d (registerTimeout mgr (d * unit) cb)
            writeIORef dl b
            modifyIORef' keys (M.insert n (k, dl))
            return (n + 1)
          exec n (Cancel i) | n > 0 = do
            modifyIORef' seqRef (+ 1)
            ks <- readIORef keys
            forM_ (M.lookup (i `mod` n) ks) $ \(k, _) -> unregisterTimeout mgr k
            modifyIORef' keys (M.delete (i `mod` n))
            return n
          exec n (Update i d) | n > 0 = do
            ks <- readIORef keys
            case M.lookup (i `mod` n) ks of
              Just (k, dl) -> do
                ((), b) <- measured d (updateTimeout mgr k (d * unit))
                writeIORef dl b
              Nothing -> return ()
            return n
          exec n _ = return n
      foldM_ exec 0 ops
      let drain = do
            c <- callbackCount mgr
            when (c > 0) (step mgr 200000 >> drain)
      drain
      shutdown mgr
      ks <- readIORef keys
      bs <- mapM (\(_, dl) -> readIORef dl) ks
      (,,) <$> (reverse <$> readIORef out) <*> readIORef earlyRef <*> pure bs
    let outOfOrder =
          [ (a, b) | (i, a) <- zip [0 :: Int ..] fired, b <- drop (i + 1) fired
                   , Just ba <- [M.lookup a bounds], Just bb <- [M.lookup b bounds]
                   , mustPrecede bb ba ]
    monitor (counterexample ("fired " ++ show fired ++ ", model " ++ show (model ops)
                             ++ (if early then ", one fired early" else "")
                             ++ (if null outOfOrder then ""
                                 else ", fired out of order: " ++ show outOfOrder
                                      ++ " " ++ show bounds)))
    QCM.assert (sort fired == model ops && not early && null outOfOrder)

------------------------------------------------------------------------------
-- No leak

leakTests :: [TestTree]
leakTests =
  [ testCase "a million timeout register/unregister cycles" $ do
      mgr <- new
      noLeakOver mgr (registerTimeout mgr 1000000 (return ()) >>= unregisterTimeout mgr)

  , testCase "a million fd register/unregister cycles" $ withPipe $ \(r, _) -> do
      mgr <- new
      noLeakOver mgr (registerFd mgr (\_ _ -> return ()) r evtRead MultiShot >>= unregisterFd mgr)

  , testCase "200000 fired one-shot timeouts and fd events leave nothing behind" $
      withSocketPair $ \(a, _) -> do
        mgr <- new
        hits <- newIORef (0 :: Int)
        let batch = do
              replicateM_ 1000 $ do
                _ <- registerTimeout mgr 0 (modifyIORef' hits (+ 1))
                void $ registerFd mgr (\_ _ -> modifyIORef' hits (+ 1)) a evtWrite OneShot
              let drain = do c <- callbackCount mgr
                             when (c > 0) (step mgr 100000 >> drain)
              drain
        replicateM_ 10 batch
        before <- liveBytes
        replicateM_ 100 batch
        after' <- liveBytes
        readIORef hits >>= (@?= 220000)
        pendingCount mgr >>= (@?= 0)
        assertBool ("live bytes grew from " ++ show before ++ " to " ++ show after')
          (after' < before + 256 * 1024)
        shutdown mgr
  ]

-- | Runs one register/unregister cycle 10,000 times to warm up, then a
-- million times, and checks that nothing is left registered and that live
-- bytes grew by less than 256 KiB.
noLeakOver :: Manager -> IO () -> Assertion
noLeakOver mgr cycle1 = do
  replicateM_ 10000 cycle1
  before <- liveBytes
  replicateM_ 1000000 cycle1
  after' <- liveBytes
  callbackCount mgr >>= (@?= 0)
  pendingCount mgr >>= (@?= 0)
  assertBool ("live bytes grew from " ++ show before ++ " to " ++ show after')
    (after' < before + 256 * 1024)
  shutdown mgr

liveBytes :: IO Integer
liveBytes = do
  performMajorGC
  fromIntegral . gcdetails_live_bytes . gc <$> getRTSStats

------------------------------------------------------------------------------
-- Stress

-- | Whole manager lifetimes, over and over: 'new', 'loop' in a thread,
-- registrations from other threads, 'shutdown' at a different moment each
-- round, and the loop must return every time. Each test runs for at least
-- 1 s and at least 2000 rounds. Under CPU load (busy processes, one per
-- core of a small machine) the OS deschedules the test at arbitrary points,
-- which moves the RTS's preemptions around in the non-threaded RTS and
-- makes real races in the threaded one.
stressTests :: [Backend] -> [TestTree]
stressTests backends =
  [ testCaseInfo "new/loop/register/shutdown rounds" $ lifetimeRounds backends
  , testCaseInfo "new/loop/register/shutdown rounds under CPU load" $
      withCpuLoad 2 (lifetimeRounds backends)
  ]

-- | Runs the action while @n@ busy processes load the CPU.
withCpuLoad :: Int -> IO a -> IO a
withCpuLoad n act = bracket
  (replicateM n (spawnProcess "sh" ["-c", "while :; do :; done"]))
  (mapM_ (\p -> terminateProcess p >> waitForProcess p))
  (const act)

lifetimeRounds :: [Backend] -> IO String
lifetimeRounds backends = do
  t0 <- getMonotonicTimeNSec
  let go :: Int -> IO Int
      go i = do
        lifetimeRound (backends !! (i `mod` length backends)) i
        now <- getMonotonicTimeNSec
        if i >= 2000 && now - t0 >= 1000000000 then return i else go (i + 1)
  n <- go 1
  return (show n ++ " rounds")

-- | One manager lifetime; round @i@ picks when 'shutdown' comes.
lifetimeRound :: Backend -> Int -> Assertion
lifetimeRound b i = withPipe $ \(r, w) -> do
  mgr <- newWith b
  done <- newEmptyMVar
  -- A shutdown may come before the loop has started: then it refuses to.
  let refused e = case e of
        ManagerShutDown _ -> return ()
        _ -> throwIO e
  _ <- forkIO ((loop mgr `catch` refused) `finally` putMVar done ())
  fired <- newEmptyMVar
  let fire = void (tryPutMVar fired ())
      ctx = "round " ++ show i ++ " on " ++ show b
  -- Another thread registers a few things; after a shutdown it may only
  -- get ManagerShutDown.
  regDone <- newEmptyMVar
  _ <- forkIO $ do
    res <- try $ do
      _ <- registerTimeout mgr 0 fire
      _ <- registerTimeout mgr 200 (return ())
      _ <- registerFd mgr (\_ _ -> fire) r evtRead OneShot
      return ()
    putMVar regDone res
  -- A thread in a blocking helper: it returns or gets ManagerShutDown.
  sleeper <- newEmptyMVar
  _ <- forkIO (try (sleep mgr 300) >>= putMVar sleeper)
  case i `mod` 5 of
    0 -> shutdown mgr                                   -- racing them all
    1 -> await ctx fired >> shutdown mgr             -- right after a callback
    2 -> do _ <- fdWrite w "x"                          -- after an fd event
            await ctx fired
            threadDelay 100
            shutdown mgr
    3 -> do _ <- registerTimeout mgr 0 (shutdown mgr)   -- from a callback
            return ()
    _ -> do yield                                       -- a little later
            shutdown mgr
  await ("loop end after shutdown, " ++ ctx) done
  regRes <- await ("registering thread, " ++ ctx) regDone
  case regRes of
    Right () -> return ()
    Left (ManagerShutDown _) -> return ()
    Left e -> assertFailure (ctx ++ ": " ++ show e)
  slept <- await ("sleeping thread, " ++ ctx) sleeper
  case slept of
    Right () -> return ()
    Left (ManagerShutDown _) -> return ()
    Left e -> assertFailure (ctx ++ ": " ++ show e)
  callbackCount mgr >>= (@?= 0)
  pendingCount mgr >>= (@?= 0)
