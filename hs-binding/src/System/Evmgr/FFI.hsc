{-# LANGUAGE InterruptibleFFI #-}
-- |
-- Module      : System.Evmgr.FFI
-- Copyright   : (c) 2026 the evmgr developers
-- License     : BSD-3-Clause
-- Stability   : internal
--
-- Raw bindings to the C ABI in @ffi/evmgr.h@. Every call that cannot block
-- is imported @unsafe@ (no OS-thread hand-off, a few nanoseconds); only
-- 'c_evmgr_poll_blocking' is @interruptible@ (a @safe@ call that
-- 'Control.Concurrent.killThread' can cut short: the RTS sends the OS thread
-- a signal and @evmgr_poll@ returns @-EINTR@). Struct layouts and constants
-- are read from the header by hsc2hs, so they follow it; the function types
-- below (plain @ccall@) are not checked by a C compiler and must be kept in
-- step with @evmgr.h@ by hand.
module System.Evmgr.FFI
  ( -- * Types
    CManager
  , CKey
  , CEvent (..)
  , eventSize
  , peekEvent
    -- * Constants
  , backendAuto, backendEpoll, backendKqueue, backendPoll, backendIoUring
  , evRead, evWrite, evError, evClosed, evTimeout
  , flagOneShot, flagPersistent
    -- * Lifetime
  , c_evmgr_new
  , c_evmgr_free
  , c_evmgr_backend_of
  , c_evmgr_backend_available
    -- * Registrations
  , c_evmgr_fd_register
  , c_evmgr_fd_modify
  , c_evmgr_fd_unregister
  , c_evmgr_timer_add
  , c_evmgr_timer_update
  , c_evmgr_timer_cancel
  , c_evmgr_now_ns
  , c_evmgr_ns_from_us
    -- * Waiting
  , c_evmgr_poll_nonblocking
  , c_evmgr_poll_blocking
  , c_evmgr_wakeup
  , c_evmgr_pollable_fd
  , c_evmgr_next_deadline_ns
  , c_evmgr_pending_count
  ) where

import Data.Int (Int32, Int64)
import Data.Word (Word32, Word64)
import Foreign.C.Types (CInt (..), CSize (..))
import Foreign.Ptr (Ptr, WordPtr (..))
import Foreign.Storable (peekByteOff)

#include "evmgr.h"

-- | The opaque @evmgr_manager@.
data CManager

-- | An @evmgr_key@; 0 is never valid.
type CKey = Word64

-- | One @evmgr_event@ as copied out by @evmgr_poll@.
data CEvent = CEvent
  { ceToken  :: {-# UNPACK #-} !Word    -- ^ the registration's token
  , ceKey    :: {-# UNPACK #-} !CKey    -- ^ the registration's key
  , ceFd     :: {-# UNPACK #-} !Int32   -- ^ the fd, or -1 for a timer
  , ceEvents :: {-# UNPACK #-} !Word32  -- ^ @EVMGR_*@ bits
  }

-- | @sizeof(evmgr_event)@.
eventSize :: Int
eventSize = #{size evmgr_event}

-- | Reads the @i@-th event of an @evmgr_event@ array.
peekEvent :: Ptr CEvent -> Int -> IO CEvent
peekEvent base i = do
  let off = i * eventSize
  WordPtr tok <- peekByteOff base (off + #{offset evmgr_event, token})
  k <- peekByteOff base (off + #{offset evmgr_event, key})
  fd <- peekByteOff base (off + #{offset evmgr_event, fd})
  ev <- peekByteOff base (off + #{offset evmgr_event, events})
  return $! CEvent (fromIntegral tok) k fd ev

backendAuto, backendEpoll, backendKqueue, backendPoll, backendIoUring :: CInt
backendAuto = #{const EVMGR_BACKEND_AUTO}
backendEpoll = #{const EVMGR_BACKEND_EPOLL}
backendKqueue = #{const EVMGR_BACKEND_KQUEUE}
backendPoll = #{const EVMGR_BACKEND_POLL}
backendIoUring = #{const EVMGR_BACKEND_IO_URING}

evRead, evWrite, evError, evClosed, evTimeout :: Word32
evRead = #{const EVMGR_READ}
evWrite = #{const EVMGR_WRITE}
evError = #{const EVMGR_ERROR}
evClosed = #{const EVMGR_CLOSED}
evTimeout = #{const EVMGR_TIMEOUT}

flagOneShot, flagPersistent :: Word32
flagOneShot = #{const EVMGR_ONESHOT}
flagPersistent = #{const EVMGR_PERSISTENT}

foreign import ccall unsafe "evmgr_new"
  c_evmgr_new :: CInt -> Ptr (Ptr CManager) -> IO CInt

foreign import ccall unsafe "evmgr_free"
  c_evmgr_free :: Ptr CManager -> IO ()

foreign import ccall unsafe "evmgr_backend_of"
  c_evmgr_backend_of :: Ptr CManager -> IO CInt

foreign import ccall unsafe "evmgr_backend_available"
  c_evmgr_backend_available :: CInt -> IO CInt

foreign import ccall unsafe "evmgr_fd_register"
  c_evmgr_fd_register
    :: Ptr CManager -> CInt -> Word32 -> Word32 -> WordPtr -> Ptr CKey
    -> IO CInt

foreign import ccall unsafe "evmgr_fd_modify"
  c_evmgr_fd_modify :: Ptr CManager -> CKey -> Word32 -> IO CInt

foreign import ccall unsafe "evmgr_fd_unregister"
  c_evmgr_fd_unregister :: Ptr CManager -> CKey -> IO CInt

foreign import ccall unsafe "evmgr_timer_add"
  c_evmgr_timer_add :: Ptr CManager -> Int64 -> WordPtr -> Ptr CKey -> IO CInt

foreign import ccall unsafe "evmgr_timer_update"
  c_evmgr_timer_update :: Ptr CManager -> CKey -> Int64 -> IO CInt

foreign import ccall unsafe "evmgr_timer_cancel"
  c_evmgr_timer_cancel :: Ptr CManager -> CKey -> IO CInt

foreign import ccall unsafe "evmgr_now_ns"
  c_evmgr_now_ns :: IO Int64

-- | Microseconds to nanoseconds, saturating (the C ABI's one conversion).
foreign import ccall unsafe "evmgr_ns_from_us"
  c_evmgr_ns_from_us :: Int64 -> Int64

-- | @evmgr_poll@ for a timeout of 0: never blocks, so @unsafe@.
foreign import ccall unsafe "evmgr_poll"
  c_evmgr_poll_nonblocking :: Ptr CManager -> Int64 -> Ptr CEvent -> CSize -> IO CInt

-- | @evmgr_poll@ that may block: @interruptible@ (a @safe@ call that
-- 'Control.Concurrent.throwTo' can interrupt). Threaded RTS only.
foreign import ccall interruptible "evmgr_poll"
  c_evmgr_poll_blocking :: Ptr CManager -> Int64 -> Ptr CEvent -> CSize -> IO CInt

foreign import ccall unsafe "evmgr_wakeup"
  c_evmgr_wakeup :: Ptr CManager -> IO CInt

foreign import ccall unsafe "evmgr_pollable_fd"
  c_evmgr_pollable_fd :: Ptr CManager -> IO CInt

foreign import ccall unsafe "evmgr_next_deadline_ns"
  c_evmgr_next_deadline_ns :: Ptr CManager -> IO Int64

foreign import ccall unsafe "evmgr_pending_count"
  c_evmgr_pending_count :: Ptr CManager -> IO CSize
