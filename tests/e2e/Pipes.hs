{-# LANGUAGE CPP #-}
-- Readiness on pipes and socketpairs, for read and for write; a writer
-- blocked on a full pipe wakes when it is drained; several threads waiting
-- on one fd all wake; regular files are ready at once.
import Common
import Control.Concurrent
import Control.Monad
import qualified Data.ByteString.Char8 as B
import Network.Socket
import Network.Socket.ByteString (send, recv)
import System.Posix.IO
import System.Posix.Types (Fd (..), ByteCount)
import Control.Exception (try, IOException)

fillPipe :: Fd -> IO Int
fillPipe w = go 0
  where
    chunk = replicate 4096 'x'
    go n = do
      r <- try (fdWrite w chunk) :: IO (Either IOException ByteCount')
      case r of
        Left _ -> return n
        Right k -> go (n + fromIntegral k)

type ByteCount' = ByteCount

-- unix 2.8 (GHC 9.6) dropped openFd's file-mode argument.
openFd' :: FilePath -> OpenMode -> IO Fd
#if MIN_VERSION_unix(2,8,0)
openFd' path mode = openFd path mode defaultFileFlags
#else
openFd' path mode = openFd path mode Nothing defaultFileFlags
#endif

main :: IO ()
main = do
  -- read readiness: the reader must not wake before the write
  (r, w) <- pipe
  got <- newEmptyMVar
  _ <- forkIO $ do
    threadWaitRead r
    t <- nowNs
    (s, _) <- fdRead r 5
    putMVar got (s, t)
  threadDelay 100000
  tw <- nowNs
  _ <- fdWrite w "hello"
  (s, t) <- withTimeoutOrDie 5000000 "pipe read wake-up" (takeMVar got)
  check (s == "hello") "pipe: wrong data"
  check (t >= tw) "pipe: reader woke before the write"

  -- several threads on one fd: all wake
  let k = 8
  woke <- newEmptyMVar
  forM_ [1 .. k] $ \_ -> forkIO (threadWaitRead r >> putMVar woke ())
  threadDelay 50000
  _ <- fdWrite w "z"
  withTimeoutOrDie 5000000 "several waiters on one fd" (replicateM_ k (takeMVar woke))
  _ <- fdRead r 1

  -- write readiness: a writer blocked on a full pipe wakes when drained
  setFdOption w NonBlockingRead True  -- sets O_NONBLOCK (writes too)
  filled <- fillPipe w
  check (filled > 0) "could not fill the pipe"
  wdone <- newEmptyMVar
  _ <- forkIO $ threadWaitWrite w >> putMVar wdone ()
  threadDelay 100000
  early <- tryTakeMVar wdone
  check (early == Nothing) "writer woke on a full pipe"
  let drain n = when (n > 0) $ do
        (d, c) <- fdRead r (fromIntegral (min n 65536))
        drain (n - fromIntegral c) >> return (length d) >> return ()
  drain filled
  withTimeoutOrDie 5000000 "writer wake-up after drain" (takeMVar wdone)

  -- socketpair, both directions
  (a, b) <- socketPair AF_UNIX Stream defaultProtocol
  fa <- unsafeFdSocket a
  fb <- unsafeFdSocket b
  sgot <- newEmptyMVar
  _ <- forkIO $ do
    threadWaitRead (Fd fb)
    m <- recv b 10
    putMVar sgot m
  threadDelay 50000
  threadWaitWrite (Fd fa)
  _ <- send a (B.pack "ping")
  m <- withTimeoutOrDie 5000000 "socketpair read" (takeMVar sgot)
  check (m == B.pack "ping") "socketpair: wrong data"
  close a >> close b

  -- regular files are ready at once, for read and for write
  h <- openFd' "/proc/self/exe" ReadOnly
  withTimeoutOrDie 2000000 "regular file read readiness" (threadWaitRead h)
  tmp <- openFd' "/dev/null" WriteOnly
  withTimeoutOrDie 2000000 "/dev/null write readiness" (threadWaitWrite tmp)
  closeFd h >> closeFd tmp
  pass "pipes"
