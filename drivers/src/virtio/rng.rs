//! The entropy device (virtio 1.2 §5.4) over any [`Transport`]: one request queue
//! (§5.4.2), no device-specific features (§5.4.3) and no configuration (§5.4.4).
//! The driver makes a buffer available for the device to write (§5.4.6), and the
//! device puts random bytes into it, possibly fewer than it holds (§5.4.6.2): the
//! used length says how many. The caller's buffer is the DMA target (memory is
//! identity-mapped), one request at a time, polled, each wait bounded by a
//! [`PollLimit`]; a device that does not answer is reset and not asked again.

use super::polled::{Failure, PolledDevice};
use super::queue::Buffer;
use super::{Error as VirtioError, PollLimit, Transport};
use super::{DEVICE_TYPE_ENTROPY, VIRTIO_F_ACCESS_PLATFORM, VIRTIO_F_VERSION_1};
use core::fmt;

/// The only queue (§5.4.2).
pub const REQUEST_QUEUE: u16 = 0;
/// The device has no feature bits of its own (§5.4.3).
pub const DRIVER_FEATURES: u64 = VIRTIO_F_VERSION_1 | VIRTIO_F_ACCESS_PLATFORM;
/// Bytes asked for in one request at most; larger fills take several.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Answers without a single byte, in a row, before the device is given up on
/// (§5.4.6.2 says it places at least one byte).
pub const MAX_EMPTY_ANSWERS: u32 = 8;
/// Requests are synchronous and one descriptor long.
const QUEUE_SIZE: u16 = 1;

/// Why random bytes could not be had from the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The queue refused the request or the device returned a bad used entry.
    Queue(VirtioError),
    /// The device did not answer a request for `requested` bytes in time; it
    /// was reset.
    Timeout {
        /// The bytes asked for.
        requested: usize,
    },
    /// The device was reset (after a failure, or before the OS took over).
    Stopped,
    /// The device answered `answers` times in a row without any bytes.
    NoBytes {
        /// How many answers came.
        answers: u32,
    },
    /// The device claims to have written more than the buffer holds.
    Overlong {
        /// The bytes it claims.
        written: u32,
        /// The buffer's size.
        requested: u32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Queue(e) => write!(f, "{e}"),
            Error::Timeout { requested } => {
                write!(f, "no answer to a request for {requested} bytes in time")
            }
            Error::Stopped => f.write_str("the device was reset and is no longer used"),
            Error::NoBytes { answers } => write!(f, "{answers} answers in a row without random bytes"),
            Error::Overlong { written, requested } => {
                write!(
                    f,
                    "device claims {written} bytes written into a {requested}-byte buffer"
                )
            }
        }
    }
}

/// A source of random bytes that can be stopped, for the firmware's list of
/// devices (whatever the transport).
pub trait EntropySource: Send + Sync {
    /// Fills all of `buffer` with random bytes.
    fn fill(&self, buffer: &mut [u8]) -> Result<(), Error>;
    /// Stops the device from using firmware memory; later fills fail.
    fn reset(&self);
}

/// A virtio entropy device. Methods lock the device, so it can be shared.
pub struct VirtioRng<T: Transport> {
    device: PolledDevice<T>,
}

impl<T: Transport> VirtioRng<T> {
    /// Initialises the device (§3.1.1): negotiates features, sets up the request
    /// queue and sets DRIVER_OK. `poll_limit` bounds the wait for each request.
    pub fn new(transport: T, poll_limit: PollLimit) -> Result<VirtioRng<T>, VirtioError> {
        let device = PolledDevice::start(
            transport,
            "virtio-rng",
            DEVICE_TYPE_ENTROPY,
            DRIVER_FEATURES,
            (REQUEST_QUEUE, QUEUE_SIZE),
            poll_limit,
        )?;
        Ok(VirtioRng { device })
    }

    /// Runs `f` with the transport (to ask where the device is, say).
    pub fn with_transport<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.device.with_transport(f)
    }

    /// Fills `buffer` with bytes from the device, in as many requests as its
    /// answers need.
    pub fn fill(&self, buffer: &mut [u8]) -> Result<(), Error> {
        let mut done = 0;
        let mut empty_answers = 0;
        while done < buffer.len() {
            let rest = &mut buffer[done..];
            let asked = rest.len().min(MAX_REQUEST_BYTES);
            let written = self.request(&mut rest[..asked])?;
            if written == 0 {
                empty_answers += 1;
                if empty_answers >= MAX_EMPTY_ANSWERS {
                    return Err(self.device.give_up(Error::NoBytes { answers: empty_answers }));
                }
                continue;
            }
            empty_answers = 0;
            done += written;
        }
        Ok(())
    }

    /// One request for `part`; returns how many bytes the device put there.
    fn request(&self, part: &mut [u8]) -> Result<usize, Error> {
        let requested = part.len() as u32;
        let chain = [Buffer {
            address: part.as_mut_ptr() as u64,
            len: requested,
            device_writable: true,
        }];
        let written = self.device.request(&chain, |failure| match failure {
            Failure::Queue(e) => Error::Queue(e),
            Failure::Timeout => Error::Timeout {
                requested: requested as usize,
            },
            Failure::Stopped => Error::Stopped,
        })?;
        if written > requested {
            return Err(self.device.give_up(Error::Overlong { written, requested }));
        }
        Ok(written as usize)
    }

    /// Resets the device, so that it stops using firmware memory before the OS
    /// takes over. Later fills fail.
    pub fn reset(&self) {
        self.device.reset()
    }
}

impl<T: Transport + Send> EntropySource for VirtioRng<T> {
    fn fill(&self, buffer: &mut [u8]) -> Result<(), Error> {
        VirtioRng::fill(self, buffer)
    }

    fn reset(&self) {
        VirtioRng::reset(self)
    }
}

impl<T: Transport> Drop for VirtioRng<T> {
    /// The device must not use the ring after it is freed.
    fn drop(&mut self) {
        self.device.reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::virtio::model::{Answer, ModelRng};
    use crate::virtio::FAILED;
    use std::vec;
    use std::vec::Vec;

    fn device(model: &ModelRng) -> VirtioRng<ModelRng> {
        VirtioRng::new(model.clone(), PollLimit::Spins(1_000)).unwrap()
    }

    /// What the model writes: a running byte counter.
    fn counter(range: core::ops::Range<usize>) -> Vec<u8> {
        range.map(|i| i as u8).collect()
    }

    #[test]
    fn fills_the_buffer_from_one_device_writable_descriptor() {
        let model = ModelRng::new(Answer::Fill { at_most: u32::MAX });
        let rng = device(&model);
        let mut bytes = [0u8; 48];
        rng.fill(&mut bytes).unwrap();
        assert_eq!(bytes.to_vec(), counter(0..48));
        assert_eq!(model.with(|s| s.device.requests.clone()), [48]);
        assert_eq!(model.with(|s| s.violations.clone()), Vec::<std::string::String>::new());
        assert_eq!(model.with(|s| s.queue_size), 1);
    }

    #[test]
    fn short_answers_are_followed_by_requests_for_the_rest() {
        let model = ModelRng::new(Answer::Fill { at_most: 7 });
        let rng = device(&model);
        let mut bytes = [0u8; 20];
        rng.fill(&mut bytes).unwrap();
        assert_eq!(bytes.to_vec(), counter(0..20));
        assert_eq!(model.with(|s| s.device.requests.clone()), [20, 13, 6]);
    }

    #[test]
    fn large_fills_are_split_into_bounded_requests() {
        let model = ModelRng::new(Answer::Fill { at_most: u32::MAX });
        let rng = device(&model);
        let mut bytes = vec![0u8; MAX_REQUEST_BYTES + 100];
        rng.fill(&mut bytes).unwrap();
        assert_eq!(
            model.with(|s| s.device.requests.clone()),
            [MAX_REQUEST_BYTES as u32, 100]
        );
        assert_eq!(bytes, counter(0..MAX_REQUEST_BYTES + 100));
    }

    #[test]
    fn a_silent_device_times_out_is_reset_and_not_asked_again() {
        let model = ModelRng::new(Answer::Never);
        let rng = device(&model);
        let mut bytes = [0u8; 16];
        assert_eq!(rng.fill(&mut bytes), Err(Error::Timeout { requested: 16 }));
        assert_eq!(model.with(|s| (s.status, s.resets)), (0, 2));
        assert_eq!(rng.fill(&mut bytes), Err(Error::Stopped));
        assert_eq!(model.with(|s| s.device.requests.len()), 1);
    }

    #[test]
    fn answers_without_bytes_are_tolerated_only_a_few_times() {
        let model = ModelRng::new(Answer::Empty);
        let rng = device(&model);
        let mut bytes = [0u8; 16];
        assert_eq!(
            rng.fill(&mut bytes),
            Err(Error::NoBytes {
                answers: MAX_EMPTY_ANSWERS
            })
        );
        assert_eq!(model.with(|s| s.device.requests.len()), MAX_EMPTY_ANSWERS as usize);
        assert_eq!(rng.fill(&mut bytes), Err(Error::Stopped));
    }

    #[test]
    fn a_used_length_beyond_the_buffer_is_refused() {
        let model = ModelRng::new(Answer::Overlong);
        let rng = device(&model);
        let mut bytes = [0u8; 16];
        assert_eq!(
            rng.fill(&mut bytes),
            Err(Error::Overlong {
                written: 17,
                requested: 16
            })
        );
    }

    #[test]
    fn a_used_entry_that_is_not_in_flight_is_an_error() {
        let model = ModelRng::new(Answer::WrongHead);
        let rng = device(&model);
        let mut bytes = [0u8; 16];
        assert!(matches!(
            rng.fill(&mut bytes),
            Err(Error::Queue(VirtioError::BadUsedEntry { .. }))
        ));
        assert_eq!(model.with(|s| s.status), 0, "reset after the error");
    }

    #[test]
    fn only_entropy_devices_are_taken_and_a_refused_feature_set_fails() {
        let model = ModelRng::new(Answer::Fill { at_most: 1 });
        model.with(|s| s.device_type = crate::virtio::DEVICE_TYPE_BLOCK);
        assert!(matches!(
            VirtioRng::new(model.clone(), PollLimit::Spins(1)),
            Err(VirtioError::WrongDeviceType { .. })
        ));
        let legacy = ModelRng::new(Answer::Fill { at_most: 1 });
        legacy.with(|s| s.offered = 0);
        assert!(matches!(
            VirtioRng::new(legacy, PollLimit::Spins(1)),
            Err(VirtioError::LegacyOnly)
        ));
        let no_queue = ModelRng::new(Answer::Fill { at_most: 1 });
        no_queue.with(|s| s.queue_max = 0);
        assert!(matches!(
            VirtioRng::new(no_queue.clone(), PollLimit::Spins(1)),
            Err(VirtioError::QueueUnavailable { queue: 0 })
        ));
        assert_eq!(no_queue.with(|s| s.status) & FAILED, FAILED);
    }

    #[test]
    fn reset_stops_the_device_before_the_os_takes_over() {
        let model = ModelRng::new(Answer::Fill { at_most: u32::MAX });
        let rng = device(&model);
        rng.reset();
        assert_eq!(model.with(|s| (s.status, s.queue_enabled)), (0, false));
        let mut bytes = [0u8; 4];
        assert_eq!(rng.fill(&mut bytes), Err(Error::Stopped));
        drop(rng);
        assert_eq!(model.with(|s| s.resets), 2, "one in negotiation, one requested");
    }

    #[test]
    fn virtio_rng_is_a_shareable_entropy_source() {
        fn shareable<D: EntropySource>() {}
        shareable::<VirtioRng<crate::virtio::PciTransport<crate::virtio::MmioRegion>>>();
        shareable::<VirtioRng<crate::virtio::MmioTransport<crate::virtio::MmioRegion>>>();
    }
}
