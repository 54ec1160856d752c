-- SPDX-License-Identifier: BSD-3-Clause
--
-- A small HTTP/1.1 server for load tests: one Haskell thread per connection,
-- keep-alive, pipelining-safe, a fixed 13-byte body. Built on the `network`
-- package, whose sockets are non-blocking and wait in threadWaitRead /
-- threadWaitWrite, so in a non-threaded program every wait goes through the
-- RTS's wait interface: select() in stock GHC, evmgr in the patched one.
--
--   HttpServer PORT
module Main (main) where

import Control.Concurrent (forkIO)
import Control.Exception (SomeException, bracket, catch, finally)
import Control.Monad (forever, unless, void)
import qualified Data.ByteString.Char8 as B
import Network.Socket
import Network.Socket.ByteString (recv, sendAll)
import System.Environment (getArgs)
import System.IO (hPutStrLn, stderr)

main :: IO ()
main = do
  [port] <- getArgs
  let hints = defaultHints {addrFlags = [AI_PASSIVE], addrSocketType = Stream}
  addr : _ <- getAddrInfo (Just hints) (Just "127.0.0.1") (Just port)
  bracket (openSocket addr) close $ \listener -> do
    setSocketOption listener ReuseAddr 1
    bind listener (addrAddress addr)
    listen listener 4096
    hPutStrLn stderr ("listening on 127.0.0.1:" ++ port)
    forever $ do
      (conn, _) <- accept listener
      void $ forkIO (serve conn `catch` ignore `finally` close conn)
  where
    ignore :: SomeException -> IO ()
    ignore _ = return ()
    openSocket a = socket (addrFamily a) (addrSocketType a) (addrProtocol a)

-- Reads requests (headers only; the load generator sends GETs) and answers
-- each complete one. Closes after a request that says "Connection: close".
serve :: Socket -> IO ()
serve conn = loop B.empty
  where
    loop pending = do
      chunk <- recv conn 4096
      unless (B.null chunk) $ do
        (answered, rest, closeAfter) <- answerAll (pending <> chunk) 0 False
        unless (answered == 0) $ sendAll conn (B.concat (replicate answered response))
        unless closeAfter $ loop rest

    answerAll :: B.ByteString -> Int -> Bool -> IO (Int, B.ByteString, Bool)
    answerAll buf n closing =
      case B.breakSubstring (B.pack "\r\n\r\n") buf of
        (headers, rest)
          | B.null rest -> return (n, buf, closing)
          | otherwise ->
              let closes = B.pack "connection: close" `B.isInfixOf` B.map toLowerAscii headers
               in answerAll (B.drop 4 rest) (n + 1) (closing || closes)

    toLowerAscii c = if c >= 'A' && c <= 'Z' then toEnum (fromEnum c + 32) else c

response :: B.ByteString
response =
  B.pack "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!"
