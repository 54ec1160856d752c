{-# LANGUAGE ScopedTypeVariables #-}
-- | evmgr vs GHC.Event, side by side, in the threaded RTS.
--
--   * fd events/s: N pipes in a ring; K tokens (one byte each) circulate,
--     each read callback reads its byte and writes it to the next pipe.
--     Counts callbacks until E events, for N = 100 and 5000.
--   * timeouts/s: registers T timeouts spread over 0..1 ms and waits for
--     the last to fire; rate = T / (time from the first registration to
--     the last callback).
--
-- Usage: evmgr-bench [ROUNDS [IMPL|CASE...]]
--   ROUNDS  default 5; the median round is reported (min and max on stderr)
--   IMPL    ghc, epoll, poll (default: ghc epoll)
--   CASE    fd100, fd5000, fd5000all, timers (default: all four)
module Main (main) where

import Control.Concurrent
import Control.Exception
import Control.Monad
import Data.IORef
import Data.List (sort)
import Foreign.C.Types (CInt (..), CSize (..))
import Foreign.Marshal.Alloc (allocaBytes)
import Foreign.Ptr (Ptr)
import qualified GHC.Event as GE
import GHC.Clock (getMonotonicTimeNSec)
import System.Environment (getArgs)
import System.Exit (exitFailure)
import System.IO
import System.Posix.IO (closeFd, createPipe, setFdOption, FdOption (NonBlockingRead))
import System.Posix.Resource
import System.Posix.Types (Fd (..))
import Text.Printf (hPrintf, printf)

import qualified System.Evmgr as E

foreign import ccall unsafe "read"
  c_read :: CInt -> Ptr () -> CSize -> IO CSize
foreign import ccall unsafe "write"
  c_write :: CInt -> Ptr () -> CSize -> IO CSize

-- | What a ring needs from an event manager.
data Impl = Impl
  { implName :: String
  , implWatch :: (Fd -> IO ()) -> Fd -> IO (IO ())  -- ^ persistent read watch; returns unwatch
  , implTimeout :: Int -> IO () -> IO ()
  , implStop :: IO ()
  }

evmgrImpl :: E.Backend -> IO Impl
evmgrImpl b = do
  mgr <- E.newWith b
  done <- newEmptyMVar
  -- As users should (Note [The loop's capability] in System.Evmgr).
  _ <- E.forkLoop mgr (\_ -> putMVar done ())
  return Impl
    { implName = "evmgr (" ++ show (E.backend mgr) ++ ")"
    , implWatch = \cb fd -> do
        k <- E.registerFd mgr (\_ _ -> cb fd) fd E.evtRead E.MultiShot
        return (E.unregisterFd mgr k)
    , implTimeout = \us cb -> void (E.registerTimeout mgr us cb)
    , implStop = E.shutdown mgr >> takeMVar done
    }

ghcImpl :: IO Impl
ghcImpl = do
  Just em <- GE.getSystemEventManager
  tm <- GE.getSystemTimerManager
  return Impl
    { implName = "GHC.Event"
    , implWatch = \cb fd -> do
        k <- GE.registerFd em (\_ _ -> cb fd) fd GE.evtRead GE.MultiShot
        return (GE.unregisterFd em k)
    , implTimeout = \us cb -> void (GE.registerTimeout tm us cb)
    , implStop = return ()
    }

-- | Events per second through a ring of @n@ pipes with @k@ tokens.
ringRate :: Impl -> Int -> Int -> Int -> IO Double
ringRate impl n k total = do
  pipes <- replicateM n $ do
    (r, w) <- createPipe
    setFdOption r NonBlockingRead True
    return (r, w)
  let writers = map snd (tail pipes ++ [head pipes])  -- pipe i forwards to i+1
  count <- newIORef (0 :: Int)
  finished <- newEmptyMVar
  let cb next (Fd fd) = allocaBytes 1 $ \buf -> do
        got <- c_read fd buf 1
        when (got == 1) $ do
          c <- atomicModifyIORef' count (\x -> (x + 1, x + 1))
          if c == total then void (tryPutMVar finished ())
          else when (c < total) $ do
            let Fd w = next
            void (c_write w buf 1)
  unwatches <- forM (zip pipes writers) $ \((r, _), next) ->
    implWatch impl (cb next) r
  t0 <- getMonotonicTimeNSec
  allocaBytes 1 $ \buf ->
    forM_ (take k (cycle (map snd pipes))) $ \(Fd w) -> c_write w buf 1
  takeMVar finished
  t1 <- getMonotonicTimeNSec
  sequence_ unwatches
  forM_ pipes $ \(r, w) -> closeFd r >> closeFd w
  return (fromIntegral total / (fromIntegral (t1 - t0) / 1e9))

-- | Timeouts registered and fired per second.
timerRate :: Impl -> Int -> IO Double
timerRate impl t = do
  count <- newIORef (0 :: Int)
  finished <- newEmptyMVar
  let cb = do
        c <- atomicModifyIORef' count (\x -> (x + 1, x + 1))
        when (c == t) $ void (tryPutMVar finished ())
  t0 <- getMonotonicTimeNSec
  forM_ [0 .. t - 1] $ \i -> implTimeout impl (i `mod` 1000) cb
  takeMVar finished
  t1 <- getMonotonicTimeNSec
  return (fromIntegral t / (fromIntegral (t1 - t0) / 1e9))

transpose' :: [[a]] -> [[a]]
transpose' [] = []
transpose' ([] : _) = []
transpose' xss = map head xss : transpose' (map tail xss)

median :: [Double] -> Double
median xs = sort xs !! (length xs `div` 2)

main :: IO ()
main = do
  hSetBuffering stdout LineBuffering
  args <- getArgs
  let rounds = case args of
        (r : _) -> read r
        _ -> 5 :: Int
      implNames = ["ghc", "epoll", "poll"]
      caseNames = ["fd100", "fd5000", "fd5000all", "timers"]
      pick names dflt = case filter (`elem` names) (drop 1 args) of
        [] -> dflt
        ws -> ws
      wanted = pick implNames ["ghc", "epoll"]
      wantedCases = pick caseNames caseNames
  unless rtsSupportsBoundThreads $ do
    hPutStrLn stderr "evmgr-bench: build with -threaded"
    exitFailure
  -- 5000 pipes = 10000 fds
  lim <- getResourceLimit ResourceOpenFiles
  setResourceLimit ResourceOpenFiles lim { softLimit = hardLimit lim }
    `catch` \(_ :: IOException) -> return ()
  caps <- getNumCapabilities
  printf "threaded RTS, -N%d, %d round(s), median shown\n\n" caps rounds
  let impls = [mk | (name, mk) <- [ ("ghc", ghcImpl)
                                  , ("epoll", evmgrImpl E.Epoll)
                                  , ("poll", evmgrImpl E.Poll) ]
                   , name `elem` wanted]
      cases = [ (c, f) | (n, c, f) <- allCases, n `elem` wantedCases ]
      allCases =
        [ ("fd100", "fd events/s, 100 pipes, 100 tokens", \i -> ringRate i 100 100 1000000)
        , ("fd5000", "fd events/s, 5000 pipes, 100 tokens", \i -> ringRate i 5000 100 1000000)
        , ("fd5000all", "fd events/s, 5000 pipes, 5000 tokens", \i -> ringRate i 5000 5000 1000000)
        , ("timers", "timeouts registered+fired/s (100000)", \i -> timerRate i 100000)
        ]
  made <- sequence impls
  -- Rounds interleave the implementations (A B A B ...), so that load from
  -- elsewhere on the machine hits them alike.
  table <- forM cases $ \(c, f) -> do
    rs <- replicateM rounds $ forM made $ \impl -> f impl
    let perImpl = map median (transpose' rs)
    forM_ (zip made (transpose' rs)) $ \(impl, xs) ->
      hPrintf stderr "%-14s %-40s median %10.0f  min %10.0f  max %10.0f\n"
        (implName impl) c (median xs) (minimum xs) (maximum xs)
    return perImpl
  mapM_ implStop made
  let results = [ (implName impl, map (!! j) table) | (j, impl) <- zip [0 ..] made ]
  putStrLn ""
  putStrLn ("| benchmark | " ++ concatMap ((++ " | ") . fst) results)
  putStrLn ("|---|" ++ concatMap (const "---:|") results)
  forM_ (zip [0 :: Int ..] cases) $ \(j, (c, _)) ->
    putStrLn ("| " ++ c ++ " | " ++
              concatMap (\(_, rs) -> printf "%.0f | " (rs !! j)) results)
