-- |
-- Module      : System.Evmgr.Table
-- Copyright   : (c) 2026 the evmgr developers
-- License     : BSD-3-Clause
-- Stability   : internal
--
-- The binding's callback table: a slot array with a free list, indexed by
-- the token the C core carries for each registration. O(1) insert, lookup
-- and delete, nothing allocated but the entry itself, so a million
-- register/unregister cycles leave the heap as they found it.
--
-- A token is @generation << 32 | slot@. A slot's generation is odd while
-- it is in use and even while free, and goes up by one on each change, so
-- a stale token (its registration gone, the slot reused) never matches.
--
-- Not thread-safe: the caller holds the manager's lock.
module System.Evmgr.Table
  ( Table
  , new
  , insert
  , lookupWith
  , delete
  , size
  , clear
  ) where

import Control.Monad (when)
import Data.Array.Base (getNumElements, newArray, newArray_, unsafeRead,
                        unsafeWrite)
import Data.Array.IO (IOArray, IOUArray)
import Data.Bits (shiftL, shiftR, (.&.))
import Data.IORef
import Data.Word (Word32)

-- | A table of @a@ keyed by tokens.
data Table a = Table
  { tValues :: !(IORef (IOArray Int a))
  , tGens :: !(IORef (IOUArray Int Word32))
  , tFree :: !(IORef [Int])
  , tUsed :: !(IORef Int)   -- ^ slots ever handed out (high-water mark)
  , tLive :: !(IORef Int)
  }

-- | An empty table.
new :: IO (Table a)
new = do
  vs <- newArray (0, initial - 1) vacant
  gs <- newArray (0, initial - 1) 0
  Table <$> newIORef vs <*> newIORef gs <*> newIORef [] <*> newIORef 0
        <*> newIORef 0
  where initial = 64

vacant :: a
vacant = error "System.Evmgr.Table: vacant slot"

-- | Stores a value, returns its token.
insert :: Table a -> a -> IO Word
insert t v = do
  free <- readIORef (tFree t)
  slot <- case free of
    (s : rest) -> writeIORef (tFree t) rest >> return s
    [] -> do
      s <- readIORef (tUsed t)
      writeIORef (tUsed t) $! s + 1
      grow t (s + 1)
      return s
  gs <- readIORef (tGens t)
  g <- unsafeRead gs slot
  let g' = g + 1  -- odd: in use
  unsafeWrite gs slot g'
  vs <- readIORef (tValues t)
  unsafeWrite vs slot v
  modifyIORef' (tLive t) (+ 1)
  return $! (fromIntegral g' `shiftL` 32) + fromIntegral slot

grow :: Table a -> Int -> IO ()
grow t need = do
  vs <- readIORef (tValues t)
  n <- getNumElements vs
  when (need > n) $ do
    let n' = max need (2 * n)
    vs' <- newArray (0, n' - 1) vacant
    gs <- readIORef (tGens t)
    gs' <- newArray_ (0, n' - 1)
    let copy, zero :: Int -> IO ()
        copy i = when (i < n) $ do
          unsafeRead vs i >>= unsafeWrite vs' i
          unsafeRead gs i >>= unsafeWrite gs' i
          copy (i + 1)
        zero i = when (i < n') $ unsafeWrite gs' i 0 >> zero (i + 1)
    copy 0
    zero n
    writeIORef (tValues t) vs'
    writeIORef (tGens t) gs'

-- | Decodes a token: its slot, if the token is live.
liveSlot :: Table a -> Word -> IO (Maybe Int)
liveSlot t tok = do
  let slot = fromIntegral (tok .&. 0xffffffff)
      g = fromIntegral (tok `shiftR` 32) :: Word32
  used <- readIORef (tUsed t)
  if slot >= used
    then return Nothing
    else do
      gs <- readIORef (tGens t)
      g' <- unsafeRead gs slot
      return (if g' == g then Just slot else Nothing)

-- | The value of a live token; removed too when the predicate says so.
lookupWith :: Table a -> (a -> Bool) -> Word -> IO (Maybe a)
lookupWith t remove tok = do
  ms <- liveSlot t tok
  case ms of
    Nothing -> return Nothing
    Just slot -> do
      vs <- readIORef (tValues t)
      v <- unsafeRead vs slot
      when (remove v) $ release t slot
      return (Just v)

release :: Table a -> Int -> IO ()
release t slot = do
  gs <- readIORef (tGens t)
  g <- unsafeRead gs slot
  unsafeWrite gs slot (g + 1)  -- even: free
  vs <- readIORef (tValues t)
  unsafeWrite vs slot vacant
  modifyIORef' (tFree t) (slot :)
  modifyIORef' (tLive t) (subtract 1)

-- | Removes a token's value, if live. Returns whether it was.
delete :: Table a -> Word -> IO Bool
delete t tok = do
  ms <- liveSlot t tok
  case ms of
    Nothing -> return False
    Just slot -> release t slot >> return True

-- | Number of live values.
size :: Table a -> IO Int
size t = readIORef (tLive t)

-- | Removes every value and returns them.
clear :: Table a -> IO [a]
clear t = do
  used <- readIORef (tUsed t)
  gs <- readIORef (tGens t)
  vs <- readIORef (tValues t)
  let go i acc
        | i < 0 = return acc
        | otherwise = do
            g <- unsafeRead gs i
            if odd g
              then do
                v <- unsafeRead vs i
                release t i
                go (i - 1) (v : acc)
              else go (i - 1) acc
  go (used - 1) []
