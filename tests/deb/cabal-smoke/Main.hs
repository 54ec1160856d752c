-- Built by tests/deb/run.sh with `cabal build -w ghc-evmgr`: it must link
-- against the evmgr RTS (its +RTS --info names evmgr) and run.
import Control.Concurrent (threadDelay)

main :: IO ()
main = threadDelay 1000 >> putStrLn "cabal-smoke ok"
