//! A device the firmware asks one thing at a time on one queue, and polls for
//! the answer (virtio-rng, virtio-gpu): the request's buffers are made
//! available, the device notified, and the used ring read until the request
//! comes back or the [`PollLimit`] runs out. A device that fails a request is
//! reset and not asked again; the OS gets it reset too.

use super::queue::{Buffer, SplitQueue};
use super::{start_with_one_queue, Error as VirtioError, PollLimit, Transport};
use super::{ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK};
use core::fmt;
use core::sync::atomic::{compiler_fence, Ordering};
use log::{debug, warn};
use spin::Mutex;

/// Why a request was not answered. The caller turns it into its own error,
/// which says what the request was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The queue refused the request or the device returned a bad used entry.
    Queue(VirtioError),
    /// No answer within the poll limit.
    Timeout,
    /// The device was reset earlier and is no longer used.
    Stopped,
}

struct Inner<T> {
    transport: T,
    queue: SplitQueue,
    /// Set after a reset: the device no longer has a queue.
    stopped: bool,
}

/// One device behind a lock, with its queue and the bound on each wait.
pub struct PolledDevice<T: Transport> {
    inner: Mutex<Inner<T>>,
    poll_limit: PollLimit,
    /// The driver's name in log lines ("virtio-rng").
    name: &'static str,
    queue_index: u16,
}

impl<T: Transport> PolledDevice<T> {
    /// Initialises the device (§3.1.1) as a `device_type` with `wanted`
    /// features and queue `queue_index` of at most `queue_size` entries, and
    /// sets DRIVER_OK.
    pub fn start(
        mut transport: T,
        name: &'static str,
        device_type: u32,
        wanted: u64,
        (queue_index, queue_size): (u16, u16),
        poll_limit: PollLimit,
    ) -> Result<PolledDevice<T>, VirtioError> {
        let (features, queue) = start_with_one_queue(&mut transport, device_type, wanted, queue_index, queue_size)?;
        transport.set_status(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        debug!("{name}: ready, features {features:#x}");
        Ok(PolledDevice {
            inner: Mutex::new(Inner {
                transport,
                queue,
                stopped: false,
            }),
            poll_limit,
            name,
            queue_index,
        })
    }

    /// Runs `f` with the transport (to ask where the device is, say).
    pub fn with_transport<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.inner.lock().transport)
    }

    /// Sends the request `chain` and waits until the device returns it;
    /// returns the bytes the device says it wrote. `error` gives the caller's
    /// error for a failure; for all but [`Failure::Stopped`] the device is
    /// reset (which also keeps it from writing into the buffers later), with
    /// that error in the log.
    pub fn request<E: fmt::Display>(&self, chain: &[Buffer], error: impl FnOnce(Failure) -> E) -> Result<u32, E> {
        let mut inner = self.inner.lock();
        if inner.stopped {
            return Err(error(Failure::Stopped));
        }
        let head = match inner.queue.add(chain) {
            Ok(head) => head,
            Err(e) => return Err(self.stop(&mut inner, error(Failure::Queue(e)))),
        };
        inner.transport.notify(self.queue_index);
        let mut deadline = self.poll_limit.start();
        let used = loop {
            match inner.queue.pop_used() {
                Ok(Some(used)) if used.head == head => break used,
                Ok(Some(used)) => debug!("{}: stray used entry {}", self.name, used.head),
                Ok(None) if deadline.expired() => return Err(self.stop(&mut inner, error(Failure::Timeout))),
                Ok(None) => core::hint::spin_loop(),
                Err(e) => return Err(self.stop(&mut inner, error(Failure::Queue(e)))),
            }
        };
        // The device wrote the buffers behind the compiler's back; its writes
        // come before the used entry (§2.7.14), which `pop_used` read with a fence.
        compiler_fence(Ordering::SeqCst);
        Ok(used.len)
    }

    /// Resets a device that misbehaved, so that it is not used again; returns
    /// `error`, which the log gives as the reason.
    pub fn give_up<E: fmt::Display>(&self, error: E) -> E {
        self.stop(&mut self.inner.lock(), error)
    }

    fn stop<E: fmt::Display>(&self, inner: &mut Inner<T>, error: E) -> E {
        warn!("{}: {error}; resetting the device", self.name);
        inner.stopped = true;
        if let Err(e) = inner.transport.reset() {
            warn!("{}: {e}", self.name);
        }
        error
    }

    /// Resets the device, so that it stops using firmware memory before the OS
    /// takes over. Later requests fail with [`Failure::Stopped`].
    pub fn reset(&self) {
        let mut inner = self.inner.lock();
        if inner.stopped {
            return;
        }
        inner.stopped = true;
        if let Err(e) = inner.transport.reset() {
            warn!("{}: {e}", self.name);
        }
    }
}
