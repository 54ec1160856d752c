{-# LANGUAGE BangPatterns #-}
{-# LANGUAGE MagicHash #-}
{-# LANGUAGE UnboxedTuples #-}
-- |
-- Module      : System.Evmgr.TimerQueue
-- Copyright   : (c) 2026 the evmgr developers
-- License     : BSD-3-Clause
-- Stability   : internal
--
-- The binding's timeouts: a pure priority queue kept in one 'IORef' and
-- changed with 'atomicModifyIORef'', as "GHC.Event"'s timer manager does.
-- No lock and no C call per timeout: a registration is one compare-and-swap
-- on the queue (plus a clock read), and the loop thread takes every expired
-- timeout out with one more. The C core never sees them; the loop bounds
-- its wait by the earliest deadline here (Note [Timeouts in Haskell] in
-- "System.Evmgr").
--
-- The queue is an @IntPSQ@, a priority search queue keyed by the timeout's
-- key with its deadline (ns, @evmgr_now_ns@ clock) as priority: one node
-- per timeout, O(min(n, word size)) insert and delete, and the expired ones
-- taken out in one pass. The code is adapted from @GHC.Event.PSQ@ in GHC's
-- @base@ (itself from the psqueues package), BSD-3-licensed, (c) The
-- University Court of the University of Glasgow and the psqueues authors.
-- Timeouts due at the same nanosecond come out in key order, that is in the
-- order of their registration. A closed queue ('close', on 'shutdown')
-- refuses insertions, so no timeout can be added after its manager's
-- pending ones were aborted.
module System.Evmgr.TimerQueue
  ( Queue
  , Timer (..)
  , empty
  , insert
  , delete
  , update
  , popDue
  , earliest
  , size
  , close
  , modify
  ) where

import GHC.Exts (casMutVar#, readMutVar#)
import GHC.IO (IO (..))
import GHC.IORef (IORef (..))
import GHC.STRef (STRef (..))

import Data.Bits (complement, countLeadingZeros, finiteBitSize, shiftL, xor,
                  (.&.))
import Data.Int (Int64)

-- | A timeout: its callback and what to run instead if the manager shuts
-- down first.
data Timer = Timer
  { tAction :: IO ()
  , tAbort :: IO ()
  }

-- | The queue of one manager.
data Queue
  = Queue !(PSQ Timer)
          {-# UNPACK #-} !Int   -- the next key
          {-# UNPACK #-} !Int   -- the number of timers
  | Closed

-- | An open, empty queue.
empty :: Queue
empty = Queue Nil 1 0

-- | Adds a timeout at the given deadline; returns its key and whether it
-- became the earliest (then a waiting loop must be woken). 'Nothing' if
-- the queue is closed.
insert :: Int64 -> IO () -> IO () -> Queue -> (Queue, Maybe (Int, Bool))
insert _ _ _ Closed = (Closed, Nothing)
insert dl act abort (Queue t k n) =
  (Queue (insertNew k dl (Timer act abort) t) (k + 1) (n + 1),
   Just (k, before dl t))

-- | Whether a deadline comes before every one in the queue.
before :: Int64 -> PSQ a -> Bool
before d t = case t of
  Nil -> True
  Tip _ p _ -> d < p
  Bin _ p _ _ _ _ -> d < p

-- | Removes a timeout; returns it if it was there.
delete :: Int -> Queue -> (Queue, Maybe Timer)
delete _ Closed = (Closed, Nothing)
delete k q@(Queue t nk n) = case deleteView k t of
  Nothing -> (q, Nothing)
  Just (_, x, t') -> (Queue t' nk (n - 1), Just x)

-- | Moves a pending timeout to a new deadline. Returns @Nothing@ if the queue is
-- closed, @Just False@ if the key is not pending or did not become the
-- earliest, @Just True@ if it moved and is now the earliest.
update :: Int -> Int64 -> Queue -> (Queue, Maybe Bool)
update _ _ Closed = (Closed, Nothing)
update k dl q@(Queue t nk n) = case deleteView k t of
  Nothing -> (q, Just False)
  Just (_, x, t') ->
    (Queue (insertNew k dl x t') nk n, Just (before dl t'))

-- | Takes out the earliest timeout if it is due at @now@. One at a time, so
-- that each change of the shared queue is short (see 'modify').
popDue :: Int64 -> Queue -> (Queue, Maybe Timer)
popDue _ Closed = (Closed, Nothing)
popDue now q@(Queue t nk n) = case t of
  Tip _ p x | p <= now -> (Queue Nil nk (n - 1), Just x)
  Bin _ p x m l r | p <= now -> (Queue (merge m l r) nk (n - 1), Just x)
  _ -> (q, Nothing)

-- | The earliest deadline, or -1.
earliest :: Queue -> Int64
earliest Closed = -1
earliest (Queue t _ _) = case t of
  Nil -> -1
  Tip _ p _ -> p
  Bin _ p _ _ _ _ -> p

-- | Number of pending timeouts.
size :: Queue -> Int
size Closed = 0
size (Queue _ _ n) = n

-- | Closes the queue; returns the timeouts that were pending.
close :: Queue -> (Queue, [Timer])
close Closed = (Closed, [])
close (Queue t _ _) = (Closed, map snd (toList t))

-- | Applies a change to the queue in an 'IORef' atomically: computes the
-- new queue to weak head normal form (which, the fields being strict, is
-- all of it) and installs it with a compare-and-swap, retrying if another
-- thread changed the queue meanwhile.
--
-- Not 'Data.IORef.atomicModifyIORef'': that installs an unevaluated thunk
-- first and evaluates it after, so a thread that changes the queue right
-- after another (the loop after a registering thread, say, on another
-- capability) finds the other's thunk under evaluation and blocks on it
-- until that thread's capability next enters the scheduler, which can be
-- milliseconds: timeouts fired up to 300 ms late in the benchmark. The
-- flip side of a compare-and-swap is that a long change loses to a stream
-- of short ones, so every change here is short: the loop takes due
-- timeouts out one by one ('popDue'), not all at once (which starved it
-- behind a registering thread just the same).
modify :: IORef Queue -> (Queue -> (Queue, b)) -> IO b
modify (IORef (STRef ref)) f = IO go
  where
    go s = case readMutVar# ref s of
      (# s1, old #) -> case f old of
        (!new, r) -> case casMutVar# ref old new s1 of
          (# s2, 0#, _ #) -> (# s2, r #)
          (# s2, _, _ #) -> go s2

------------------------------------------------------------------------------
-- IntPSQ (adapted from GHC.Event.PSQ)

type Key = Int
type Prio = Int64
-- | The index of the bit that determines the branching, as a mask.
type Mask = Int

data PSQ v
  = Bin {-# UNPACK #-} !Key {-# UNPACK #-} !Prio !v {-# UNPACK #-} !Mask
        !(PSQ v) !(PSQ v)
  | Tip {-# UNPACK #-} !Key {-# UNPACK #-} !Prio !v
  | Nil

zero :: Key -> Mask -> Bool
zero i m = (fromIntegral i :: Word) .&. fromIntegral m == 0
{-# INLINE zero #-}

nomatch :: Key -> Key -> Mask -> Bool
nomatch k1 k2 m = (fromIntegral k1 .&. m') /= (fromIntegral k2 .&. m')
  where
    m' = maskW (fromIntegral m) :: Word
{-# INLINE nomatch #-}

maskW :: Word -> Word
maskW m = complement (m - 1) `xor` m
{-# INLINE maskW #-}

branchMask :: Key -> Key -> Mask
branchMask k1 k2 = fromIntegral (highestBitMask (fromIntegral k1 `xor` fromIntegral k2))
{-# INLINE branchMask #-}

highestBitMask :: Word -> Word
highestBitMask x = 1 `shiftL` (finiteBitSize x - 1 - countLeadingZeros x)
{-# INLINE highestBitMask #-}

insertNew :: Key -> Prio -> v -> PSQ v -> PSQ v
insertNew k p x = go
  where
    go t = case t of
      Nil -> Tip k p x
      Tip k' p' x'
        | (p, k) < (p', k') -> link k p x k' t Nil
        | otherwise -> link k' p' x' k (Tip k p x) Nil
      Bin k' p' x' m l r
        | nomatch k k' m ->
            if (p, k) < (p', k')
              then link k p x k' t Nil
              else link k' p' x' k (Tip k p x) (merge m l r)
        | otherwise ->
            if (p, k) < (p', k')
              then
                if zero k' m
                  then Bin k p x m (insertNew k' p' x' l) r
                  else Bin k p x m l (insertNew k' p' x' r)
              else
                if zero k m
                  then Bin k' p' x' m (insertNew k p x l) r
                  else Bin k' p' x' m l (insertNew k p x r)

link :: Key -> Prio -> v -> Key -> PSQ v -> PSQ v -> PSQ v
link k p x k' k't otherTree
  | zero m k' = Bin k p x m k't otherTree
  | otherwise = Bin k p x m otherTree k't
  where
    m = branchMask k k'

deleteView :: Key -> PSQ v -> Maybe (Prio, v, PSQ v)
deleteView k t0 = case delFrom t0 of
  (_, Nothing) -> Nothing
  (t, Just (p, x)) -> Just (p, x, t)
  where
    delFrom t = case t of
      Nil -> (Nil, Nothing)
      Tip k' p' x'
        | k == k' -> (Nil, Just (p', x'))
        | otherwise -> (t, Nothing)
      Bin k' p' x' m l r
        | nomatch k k' m -> (t, Nothing)
        | k == k' -> let !t' = merge m l r in (t', Just (p', x'))
        | zero k m -> case delFrom l of
            (l', mb) -> let !t' = binShrinkL k' p' x' m l' r in (t', mb)
        | otherwise -> case delFrom r of
            (r', mb) -> let !t' = binShrinkR k' p' x' m l r' in (t', mb)

binShrinkL :: Key -> Prio -> v -> Mask -> PSQ v -> PSQ v -> PSQ v
binShrinkL k p x m Nil r = case r of Nil -> Tip k p x; _ -> Bin k p x m Nil r
binShrinkL k p x m l r = Bin k p x m l r
{-# INLINE binShrinkL #-}

binShrinkR :: Key -> Prio -> v -> Mask -> PSQ v -> PSQ v -> PSQ v
binShrinkR k p x m l Nil = case l of Nil -> Tip k p x; _ -> Bin k p x m l Nil
binShrinkR k p x m l r = Bin k p x m l r
{-# INLINE binShrinkR #-}

toList :: PSQ v -> [(Prio, v)]
toList = go []
  where
    go acc Nil = acc
    go acc (Tip _ p x) = (p, x) : acc
    go acc (Bin _ p x _ l r) = (p, x) : go (go acc r) l

merge :: Mask -> PSQ v -> PSQ v -> PSQ v
merge m l r = case l of
  Nil -> r
  Tip lk lp lx -> case r of
    Nil -> l
    Tip rk rp rx
      | (lp, lk) < (rp, rk) -> Bin lk lp lx m Nil r
      | otherwise -> Bin rk rp rx m l Nil
    Bin rk rp rx rm rl rr
      | (lp, lk) < (rp, rk) -> Bin lk lp lx m Nil r
      | otherwise -> Bin rk rp rx m l (merge rm rl rr)
  Bin lk lp lx lm ll lr -> case r of
    Nil -> l
    Tip rk rp rx
      | (lp, lk) < (rp, rk) -> Bin lk lp lx m (merge lm ll lr) r
      | otherwise -> Bin rk rp rx m l Nil
    Bin rk rp rx rm rl rr
      | (lp, lk) < (rp, rk) -> Bin lk lp lx m (merge lm ll lr) r
      | otherwise -> Bin rk rp rx m l (merge rm rl rr)
