-- SPDX-License-Identifier: BSD-3-Clause
--
-- A minimal Warp server for the CPU-per-request benchmark
-- (scripts/warp-bench.sh): one fixed plain-text answer per request.
-- Usage: WarpHello PORT
{-# LANGUAGE OverloadedStrings #-}
import Network.HTTP.Types (status200)
import Network.Wai (responseLBS)
import Network.Wai.Handler.Warp (run)
import System.Environment (getArgs)
import System.IO

main :: IO ()
main = do
  [port] <- getArgs
  hPutStrLn stderr ("listening on " ++ port)
  run (read port) $ \_ respond ->
    respond (responseLBS status200 [("Content-Type", "text/plain")] "hello\n")
