-- | An echo server on loopback driven by evmgr, and a client driver that
-- opens a few thousand connections (at most a bounded number at a time),
-- sends a few messages on each and checks the echoes.
--
-- > cabal run evmgr-echo -- [CONNECTIONS [MESSAGES [CONCURRENCY]]]
-- > cabal run evmgr-echo -- 3000 10 500
--
-- The server is callbacks on one evmgr loop: the listening socket has a
-- multi-shot read registration that accepts, each connection a multi-shot
-- read registration that echoes. The clients are ordinary Haskell threads
-- that block with 'E.waitRead' on the same manager.
module Main (main) where

import Control.Concurrent
import Control.Exception
import Control.Monad
import qualified Data.ByteString.Char8 as B
import Data.IORef
import GHC.Clock (getMonotonicTimeNSec)
import Network.Socket
import Network.Socket.ByteString (recv, sendAll)
import System.Environment (getArgs)
import System.Exit (exitFailure)
import System.Posix.Resource
import System.Posix.Types (Fd (..))
import Text.Printf (printf)

import qualified System.Evmgr as E

-- | The fd of a socket, for registering it.
sockFd :: Socket -> IO Fd
sockFd s = Fd <$> unsafeFdSocket s

------------------------------------------------------------------------------
-- Server

-- | Listens on an ephemeral loopback port; returns the port.
server :: E.Manager -> IO PortNumber
server mgr = do
  lsock <- socket AF_INET Stream defaultProtocol
  setSocketOption lsock ReuseAddr 1
  bind lsock (SockAddrInet 0 (tupleToHostAddress (127, 0, 0, 1)))
  listen lsock 1024
  lfd <- sockFd lsock
  _ <- E.registerFd mgr (\_ _ -> acceptOne lsock) lfd E.evtRead E.MultiShot
  socketPort lsock
  where
    -- Readable listening socket: accept one connection (the registration is
    -- level-triggered: more pending connections call us again). network's
    -- accept and recv would wait through GHC's own I/O manager if nothing
    -- were ready, so a callback calls each once per readiness.
    acceptOne lsock = do
      (conn, _) <- accept lsock
      fd <- sockFd conn
      void (E.registerFd mgr (echo conn) fd E.evtRead E.MultiShot)
    -- Readable connection: echo what arrived; at EOF, unregister and close.
    -- (sendAll may wait for buffer space through GHC's own I/O manager;
    -- echoing small messages on loopback it never does. A real server would
    -- queue the data and register for evtWrite.)
    echo conn key _ = do
      msg <- recv conn 4096
      if B.null msg
        then E.unregisterFd mgr key >> close conn
        else sendAll conn msg

------------------------------------------------------------------------------
-- Client driver

-- | One client: connect, then send each message and wait for its echo.
client :: E.Manager -> PortNumber -> Int -> Int -> IO Int
client mgr port cid msgs = bracket open close $ \s -> do
  fd <- sockFd s
  fmap sum $ forM [1 .. msgs] $ \i -> do
    let msg = B.pack (printf "client %d message %d\n" cid i)
    sendAll s msg
    echoed <- readExactly s fd (B.length msg)
    when (echoed /= msg) $ throwIO (userError ("bad echo: " ++ show echoed))
    return 1
  where
    open = do
      s <- socket AF_INET Stream defaultProtocol
      connect s (SockAddrInet port (tupleToHostAddress (127, 0, 0, 1)))
      return s
    readExactly s fd n = go B.empty
      where go acc | B.length acc >= n = return acc
                   | otherwise = do
                       E.waitRead mgr fd  -- block this thread on evmgr
                       more <- recv s (n - B.length acc)
                       when (B.null more) $ throwIO (userError "early EOF")
                       go (acc <> more)

main :: IO ()
main = do
  args <- map read <$> getArgs
  let (conns, msgs, conc) = case args of
        [c, m, k] -> (c, m, k)
        [c, m] -> (c, m, 500)
        [c] -> (c, 10, 500)
        _ -> (3000, 10, 500)
  lim <- getResourceLimit ResourceOpenFiles
  setResourceLimit ResourceOpenFiles lim { softLimit = hardLimit lim }
    `catch` \e -> const (return ()) (e :: IOException)

  mgr <- E.new
  loopDone <- newEmptyMVar
  _ <- E.forkLoop mgr (\_ -> putMVar loopDone ())
  port <- server mgr

  -- At most `conc` clients at a time.
  slots <- newQSem conc
  echoed <- newIORef (0 :: Int)
  failures <- newIORef (0 :: Int)
  dones <- newEmptyMVar
  t0 <- getMonotonicTimeNSec
  forM_ [1 .. conns] $ \cid -> do
    waitQSem slots
    forkIO $ do
      r <- try (client mgr port cid msgs)
      case r of
        Right n -> atomicModifyIORef' echoed (\x -> (x + n, ()))
        Left e -> do
          putStrLn ("client " ++ show cid ++ ": " ++ show (e :: SomeException))
          atomicModifyIORef' failures (\x -> (x + 1, ()))
      signalQSem slots
      putMVar dones ()
  replicateM_ conns (takeMVar dones)
  t1 <- getMonotonicTimeNSec

  n <- readIORef echoed
  bad <- readIORef failures
  let secs = fromIntegral (t1 - t0) / 1e9 :: Double
  printf "%d connections (%d at a time), %d messages echoed in %.2f s (%.0f/s), backend %s\n"
    conns conc n secs (fromIntegral n / secs) (show (E.backend mgr))
  E.shutdown mgr
  takeMVar loopDone
  when (bad > 0 || n /= conns * msgs) $ do
    printf "%d clients failed\n" bad
    exitFailure
