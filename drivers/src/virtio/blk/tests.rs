use super::*;
use crate::virtio::model::{ModelBlk, SeenRequest};
use crate::virtio::VIRTIO_F_EVENT_IDX as EVENT_IDX_FOR_TESTS;
use core::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use std::vec;

const MIB: usize = 1 << 20;
/// What QEMU's virtio-blk-pci offers, as far as this driver cares.
const QEMU: u64 = VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH;

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 512) as u8).collect()
}

fn device(model: &ModelBlk) -> VirtioBlk<ModelBlk> {
    VirtioBlk::new(model.clone(), PollLimit::Spins(10_000)).unwrap()
}

fn requests(model: &ModelBlk) -> Vec<SeenRequest> {
    model.with(|s| s.device.requests.clone())
}

fn assert_no_violations(model: &ModelBlk) {
    assert_eq!(model.with(|s| s.violations.clone()), Vec::<std::string::String>::new());
}

#[test]
fn device_id_is_the_serial_the_device_reports() {
    let model = ModelBlk::new(pattern(MIB), QEMU);
    let blk = device(&model);
    assert_eq!(blk.device_id(), Err(BlockError::Unsupported));
    model.with(|s| s.device.device_id = Some(b"hvfw-serial-7".to_vec()));
    let mut expected = [0u8; DEVICE_ID_BYTES];
    expected[..13].copy_from_slice(b"hvfw-serial-7");
    assert_eq!(blk.device_id(), Ok(expected));
    let last = requests(&model).pop().unwrap();
    assert_eq!(
        (last.kind, last.segments),
        (VIRTIO_BLK_T_GET_ID, vec![DEVICE_ID_BYTES as u32])
    );
    assert_no_violations(&model);
}

#[test]
fn reads_one_mebibyte_in_exactly_one_request() {
    let model = ModelBlk::new(pattern(4 * MIB), QEMU);
    let blk = device(&model);
    assert_eq!((blk.block_size(), blk.block_count()), (512, 8192));
    let mut buf = vec![0u8; MIB];
    blk.read_blocks(8, &mut buf).unwrap();
    assert!(buf == pattern(4 * MIB)[4096..4096 + MIB]);
    assert_eq!(
        requests(&model),
        [SeenRequest {
            kind: VIRTIO_BLK_T_IN,
            sector: 8,
            segments: vec![MIB as u32]
        }]
    );
    assert_no_violations(&model);
}

#[test]
fn splits_requests_as_seg_max_and_size_max_require() {
    let model = ModelBlk::new(pattern(4 * MIB), QEMU | VIRTIO_BLK_F_SIZE_MAX);
    model.with(|s| {
        s.device.seg_max = 4;
        s.device.size_max = 64 * 1024;
    });
    let blk = device(&model);
    assert_eq!(blk.limits().request_bytes, 256 * 1024);
    let mut buf = vec![0u8; MIB + 300 * 1024];
    blk.read_blocks(3, &mut buf).unwrap();
    assert!(buf == pattern(4 * MIB)[3 * 512..3 * 512 + buf.len()]);
    let seen = requests(&model);
    let shape: Vec<_> = seen.iter().map(|r| (r.sector, r.segments.clone())).collect();
    let full = vec![65536; 4];
    assert_eq!(
        shape,
        [
            (3, full.clone()),
            (3 + 512, full.clone()),
            (3 + 1024, full.clone()),
            (3 + 1536, full.clone()),
            (3 + 2048, full),
            (3 + 2560, vec![44 * 1024]),
        ]
    );
    assert_no_violations(&model);
}

#[test]
fn writes_then_reads_back() {
    let model = ModelBlk::new(vec![0; MIB], QEMU);
    let blk = device(&model);
    let data = pattern(64 * 1024);
    blk.write_blocks(100, &data).unwrap();
    let mut back = vec![0u8; 64 * 1024];
    blk.read_blocks(100, &mut back).unwrap();
    assert!(back == data);
    assert!(model.with(|s| s.device.disk[100 * 512..100 * 512 + data.len()] == data[..]));
    assert_eq!(requests(&model)[0].kind, VIRTIO_BLK_T_OUT);
    blk.flush().unwrap();
    assert_eq!(
        requests(&model)[2],
        SeenRequest {
            kind: VIRTIO_BLK_T_FLUSH,
            sector: 0,
            segments: vec![]
        }
    );
}

#[test]
fn read_only_device_refuses_writes() {
    let model = ModelBlk::new(vec![0; MIB], QEMU | VIRTIO_BLK_F_RO);
    let blk = device(&model);
    assert!(blk.read_only());
    assert_eq!(blk.write_blocks(0, &[1; 512]), Err(BlockError::ReadOnly));
    assert!(requests(&model).is_empty());
}

#[test]
fn error_status_is_a_device_error() {
    let model = ModelBlk::new(vec![0; MIB], QEMU);
    let blk = device(&model);
    let mut buf = [0u8; 1024];
    model.with(|s| s.device.forced_status = Some(VIRTIO_BLK_S_IOERR));
    assert_eq!(
        blk.read_blocks(5, &mut buf),
        Err(BlockError::DeviceError {
            lba: 5,
            status: VIRTIO_BLK_S_IOERR
        })
    );
    model.with(|s| s.device.forced_status = Some(VIRTIO_BLK_S_UNSUPP));
    assert_eq!(
        blk.write_blocks(6, &buf),
        Err(BlockError::DeviceError {
            lba: 6,
            status: VIRTIO_BLK_S_UNSUPP
        })
    );
    // The queue is still usable afterwards.
    model.with(|s| s.device.forced_status = None);
    blk.read_blocks(5, &mut buf).unwrap();
}

#[test]
fn device_that_never_completes_times_out_and_is_reset() {
    let model = ModelBlk::new(vec![0; MIB], QEMU);
    let blk = device(&model);
    model.with(|s| s.device.responds = false);
    let started = Instant::now();
    let mut buf = [0u8; 512];
    assert_eq!(blk.read_blocks(7, &mut buf), Err(BlockError::Timeout { lba: 7 }));
    assert!(started.elapsed() < Duration::from_secs(5));
    // Reset, so it cannot write into `buf` later; later requests fail at once.
    assert_eq!(model.with(|s| (s.status, s.queue_enabled)), (0, false));
    let notified = model.with(|s| s.notifications);
    assert_eq!(blk.read_blocks(0, &mut buf), Err(BlockError::Timeout { lba: 0 }));
    assert_eq!(model.with(|s| s.notifications), notified);
}

#[test]
fn clock_limit_times_out_too() {
    static TICKS: AtomicU64 = AtomicU64::new(0);
    fn now() -> u64 {
        TICKS.fetch_add(1, Ordering::Relaxed)
    }
    let model = ModelBlk::new(vec![0; MIB], QEMU);
    let blk = VirtioBlk::new(
        model.clone(),
        PollLimit::Clock {
            now,
            hz: 1000,
            ms: 1000,
        },
    )
    .unwrap();
    model.with(|s| s.device.responds = false);
    assert_eq!(blk.flush(), Err(BlockError::Timeout { lba: 0 }));
}

#[test]
fn a_request_gets_more_time_for_more_data() {
    // One tick per look at the clock, 1000 ticks a second: ticks are ms.
    static TICKS: AtomicU64 = AtomicU64::new(0);
    fn now() -> u64 {
        TICKS.fetch_add(1, Ordering::Relaxed)
    }
    let waited = |len: usize| {
        let model = ModelBlk::new(vec![0; 32 * MIB], QEMU);
        let limit = PollLimit::Clock { now, hz: 1000, ms: 500 };
        let blk = VirtioBlk::new(model.clone(), limit).unwrap();
        model.with(|s| s.device.responds = false);
        let mut buf = vec![0u8; len];
        let before = TICKS.load(Ordering::Relaxed);
        assert_eq!(blk.read_blocks(0, &mut buf), Err(BlockError::Timeout { lba: 0 }));
        TICKS.load(Ordering::Relaxed) - before
    };
    let small = waited(512);
    assert!((500..510).contains(&small), "{small} ms for 512 bytes");
    // 16 MiB at SLOW_DISK_BYTES_PER_S (8 MiB/s): 2 s more.
    let large = waited(16 * MIB);
    assert!((2500..2510).contains(&large), "{large} ms for 16 MiB");
}

#[test]
fn time_limits_read_as_messages_name_them() {
    use std::string::ToString;
    fn now() -> u64 {
        0
    }
    let clock = |ms| PollLimit::Clock { now, hz: 1000, ms }.to_string();
    assert_eq!(clock(5000), "5 s");
    assert_eq!(clock(2500), "2.5 s");
    assert_eq!(
        PollLimit::Clock { now, hz: 1, ms: 1000 }
            .extended_by_ms(7000)
            .to_string(),
        "8 s"
    );
    assert_eq!(PollLimit::Spins(1000).extended_by_ms(5).to_string(), "1000 polls");
}

#[test]
fn negotiates_only_offered_features() {
    let offered = VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_RO | EVENT_IDX_FOR_TESTS | (1 << 12);
    let model = ModelBlk::new(vec![0; MIB], offered);
    let blk = device(&model);
    assert_eq!(blk.features(), VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_RO);
    assert_eq!(model.with(|s| s.driver_features), VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_RO);
    assert_eq!(model.with(|s| s.status), ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
    // No FLUSH offered: flush sends nothing.
    blk.flush().unwrap();
    assert!(requests(&model).is_empty());
    // No SEG_MAX offered: the queue alone limits segments.
    assert_eq!(blk.limits().max_segments, 254);
}

#[test]
fn legacy_only_device_is_refused() {
    let model = ModelBlk::new(vec![0; MIB], VIRTIO_BLK_F_FLUSH);
    assert_eq!(
        VirtioBlk::new(model.clone(), PollLimit::DEFAULT).err(),
        Some(Error::LegacyOnly)
    );
    assert_ne!(model.with(|s| s.status) & FAILED, 0);
}

#[test]
fn queue_size_follows_the_device_maximum() {
    for (max, expected) in [(128, 128), (1024, 256), (100, 64)] {
        let model = ModelBlk::new(vec![0; MIB], QEMU);
        model.with(|s| s.queue_max = max);
        let blk = device(&model);
        assert_eq!(model.with(|s| s.queue_size), expected, "device max {max}");
        assert_eq!(blk.limits().max_segments, 126.min(expected as usize - 2));
        assert_no_violations(&model);
    }
    let model = ModelBlk::new(vec![0; MIB], QEMU);
    model.with(|s| s.queue_max = 0);
    assert_eq!(device_err(&model), Error::QueueUnavailable { queue: 0 });
}

fn device_err(model: &ModelBlk) -> Error {
    VirtioBlk::new(model.clone(), PollLimit::DEFAULT).err().unwrap()
}

#[test]
fn blk_size_sets_the_block_size_and_sectors_stay_512() {
    let model = ModelBlk::new(pattern(MIB), QEMU);
    model.with(|s| s.device.blk_size = 4096);
    let blk = device(&model);
    assert_eq!((blk.block_size(), blk.block_count()), (4096, 256));
    let mut buf = vec![0u8; 8192];
    blk.read_blocks(3, &mut buf).unwrap();
    assert_eq!(requests(&model)[0].sector, 24);
    assert!(buf == pattern(MIB)[3 * 4096..5 * 4096]);
    assert_eq!(
        blk.read_blocks(0, &mut buf[..512]).unwrap_err(),
        BlockError::UnalignedBuffer {
            len: 512,
            block_size: 4096
        }
    );
}

#[test]
fn requests_past_the_end_never_reach_the_device() {
    let model = ModelBlk::new(vec![0; MIB], QEMU);
    let blk = device(&model);
    let mut buf = [0u8; 1024];
    assert!(matches!(
        blk.read_blocks(2047, &mut buf),
        Err(BlockError::OutOfRange { .. })
    ));
    assert!(requests(&model).is_empty());
}

#[test]
fn reset_stops_the_device_before_the_os_takes_over() {
    let model = ModelBlk::new(vec![0; MIB], QEMU);
    let blk = device(&model);
    blk.reset();
    assert_eq!(model.with(|s| (s.status, s.queue_enabled)), (0, false));
    drop(blk);
    assert_eq!(model.with(|s| s.resets), 2, "one in negotiation, one requested");
}

#[test]
fn virtio_blk_is_a_shareable_block_device() {
    fn shareable<D: BlockDevice + Send + Sync>() {}
    shareable::<VirtioBlk<ModelBlk>>();
    shareable::<VirtioBlk<crate::virtio::PciTransport<crate::virtio::MmioRegion>>>();
    shareable::<VirtioBlk<crate::virtio::MmioTransport<crate::virtio::MmioRegion>>>();
}
