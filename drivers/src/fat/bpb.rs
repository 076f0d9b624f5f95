//! The boot sector and BPB: Microsoft "FAT: General Overview of On-Disk Format"
//! (fatgen103) §3.1–§3.3 (BPB fields), §3.5 (FAT type determination from the
//! cluster count) and §5 (FAT32 FSInfo sector).
#![forbid(unsafe_code)]

use super::Error;
use crate::bytes::LeFields;

const BS_JMP_BOOT: usize = 0;
const BPB_BYTS_PER_SEC: usize = 11;
const BPB_SEC_PER_CLUS: usize = 13;
const BPB_RSVD_SEC_CNT: usize = 14;
const BPB_NUM_FATS: usize = 16;
const BPB_ROOT_ENT_CNT: usize = 17;
const BPB_TOT_SEC16: usize = 19;
const BPB_MEDIA: usize = 21;
const BPB_FAT_SZ16: usize = 22;
const BPB_TOT_SEC32: usize = 32;
const BPB_FAT_SZ32: usize = 36;
const BPB_EXT_FLAGS: usize = 40;
const BPB_FS_VER: usize = 42;
const BPB_ROOT_CLUS: usize = 44;
const BPB_FS_INFO: usize = 48;
/// BS_VolLab sits after the FAT12/16 BPB at 43, after the FAT32 BPB at 71.
const BS_VOL_LAB_FAT16: usize = 43;
const BS_VOL_LAB_FAT32: usize = 71;
const BOOT_SIGNATURE_OFFSET: usize = 510;
const BOOT_SIGNATURE: u16 = 0xAA55;
/// Bytes of the boot sector that the BPB and signature occupy.
pub const BOOT_SECTOR_BYTES: usize = 512;

/// §3.5: fewer than 4085 clusters is FAT12, fewer than 65525 FAT16, else FAT32.
const FAT12_MAX_CLUSTERS: u64 = 4084;
const FAT16_MAX_CLUSTERS: u64 = 65524;
/// FAT32 cluster numbers are 28 bits; 0x0FFFFFF7 and up are reserved values.
const FAT32_MAX_CLUSTERS: u64 = 0x0FFF_FFF5;
/// BPB_ExtFlags bit 7: only the FAT named by bits 0–3 is active (no mirroring).
const EXT_FLAGS_NO_MIRRORING: u16 = 0x80;
const EXT_FLAGS_ACTIVE_FAT: u16 = 0x0F;

pub const FSI_LEAD_SIG: u32 = 0x4161_5252;
pub const FSI_STRUC_SIG: u32 = 0x6141_7272;
pub const FSI_TRAIL_SIG: u32 = 0xAA55_0000;
pub const FSI_LEAD_SIG_OFFSET: usize = 0;
pub const FSI_STRUC_SIG_OFFSET: usize = 484;
pub const FSI_FREE_COUNT_OFFSET: usize = 488;
pub const FSI_NXT_FREE_OFFSET: usize = 492;
pub const FSI_TRAIL_SIG_OFFSET: usize = 508;
/// FSI_Free_Count / FSI_Nxt_Free value meaning "unknown".
pub const FSI_UNKNOWN: u32 = 0xFFFF_FFFF;

/// Which FAT variant a volume is, decided by its cluster count alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FatType {
    /// Fewer than 4085 clusters: 12-bit FAT entries.
    Fat12,
    /// Fewer than 65525 clusters: 16-bit FAT entries.
    Fat16,
    /// More: 32-bit FAT entries (28 bits used).
    Fat32,
}

/// The checked layout of a FAT volume. Offsets are bytes from the start of the
/// device the file system was opened on.
#[derive(Clone, Debug)]
pub struct Geometry {
    /// The FAT variant.
    pub fat_type: FatType,
    /// Bytes per sector (512 to 4096).
    pub bytes_per_sector: u32,
    /// Sectors per cluster (a power of two).
    pub sectors_per_cluster: u32,
    /// Bytes per cluster.
    pub bytes_per_cluster: u32,
    /// Sectors before the first FAT.
    pub reserved_sectors: u32,
    /// Copies of the FAT.
    pub num_fats: u32,
    /// Sectors of one FAT copy.
    pub fat_sectors: u32,
    /// Entries of the fixed FAT12/16 root directory (0 on FAT32).
    pub root_entry_count: u32,
    /// Sectors of the volume.
    pub total_sectors: u32,
    /// Data clusters: valid cluster numbers are 2..=cluster_count+1.
    pub cluster_count: u32,
    /// First cluster of the FAT32 root directory (0 on FAT12/16).
    pub root_cluster: u32,
    /// FAT32 FSInfo sector, when the BPB names one.
    pub fsinfo_sector: Option<u32>,
    /// The only FAT in use when BPB_ExtFlags turns mirroring off.
    pub active_fat: Option<u32>,
    /// BS_VolLab, as stored (space padded).
    pub bpb_label: [u8; 11],
}

fn bad(field: &'static str, value: u64) -> Error {
    Error::BadBootSector { field, value }
}

impl Geometry {
    /// Parses and checks the BPB in `sector` (at least 512 bytes) for a device of
    /// `device_bytes` bytes. Every field that the layout depends on is checked.
    pub fn parse(sector: &[u8], device_bytes: u64) -> Result<Geometry, Error> {
        if sector.len() < BOOT_SECTOR_BYTES {
            return Err(bad("boot sector length", sector.len() as u64));
        }
        // Every field read below lies in these 512 bytes.
        let signature = sector.u16_le(BOOT_SIGNATURE_OFFSET).unwrap_or(0);
        if signature != BOOT_SIGNATURE {
            return Err(bad("boot signature", signature.into()));
        }
        let jump = sector[BS_JMP_BOOT];
        if jump != 0xEB && jump != 0xE9 {
            return Err(bad("jump instruction", jump.into()));
        }
        let bytes_per_sector = u32::from(sector.u16_le(BPB_BYTS_PER_SEC).unwrap_or(0));
        if !bytes_per_sector.is_power_of_two() || !(512..=4096).contains(&bytes_per_sector) {
            return Err(bad("bytes per sector", bytes_per_sector.into()));
        }
        let sectors_per_cluster = u32::from(sector[BPB_SEC_PER_CLUS]);
        if !sectors_per_cluster.is_power_of_two() {
            return Err(bad("sectors per cluster", sectors_per_cluster.into()));
        }
        let reserved_sectors = u32::from(sector.u16_le(BPB_RSVD_SEC_CNT).unwrap_or(0));
        if reserved_sectors == 0 {
            return Err(bad("reserved sectors", 0));
        }
        let num_fats = u32::from(sector[BPB_NUM_FATS]);
        if num_fats == 0 {
            return Err(bad("number of FATs", 0));
        }
        let media = sector[BPB_MEDIA];
        if media != 0xF0 && media < 0xF8 {
            return Err(bad("media descriptor", media.into()));
        }
        let root_entry_count = u32::from(sector.u16_le(BPB_ROOT_ENT_CNT).unwrap_or(0));
        let fat_sz16 = u32::from(sector.u16_le(BPB_FAT_SZ16).unwrap_or(0));
        let fat_sectors = if fat_sz16 != 0 {
            fat_sz16
        } else {
            sector.u32_le(BPB_FAT_SZ32).unwrap_or(0)
        };
        if fat_sectors == 0 {
            return Err(bad("FAT size", 0));
        }
        let tot_sec16 = u32::from(sector.u16_le(BPB_TOT_SEC16).unwrap_or(0));
        let total_sectors = if tot_sec16 != 0 {
            tot_sec16
        } else {
            sector.u32_le(BPB_TOT_SEC32).unwrap_or(0)
        };
        if total_sectors == 0 {
            return Err(bad("total sectors", 0));
        }
        let bps = u64::from(bytes_per_sector);
        if u64::from(total_sectors) * bps > device_bytes {
            return Err(bad("total sectors", total_sectors.into()));
        }
        // §3.5: the type follows from the count of data clusters.
        let root_dir_sectors = (u64::from(root_entry_count) * 32).div_ceil(bps);
        let meta = u64::from(reserved_sectors) + u64::from(num_fats) * u64::from(fat_sectors) + root_dir_sectors;
        if meta >= u64::from(total_sectors) {
            return Err(bad("total sectors", total_sectors.into()));
        }
        let cluster_count = (u64::from(total_sectors) - meta) / u64::from(sectors_per_cluster);
        if cluster_count == 0 {
            return Err(bad("cluster count", 0));
        }
        let fat_type = if cluster_count <= FAT12_MAX_CLUSTERS {
            FatType::Fat12
        } else if cluster_count <= FAT16_MAX_CLUSTERS {
            FatType::Fat16
        } else {
            FatType::Fat32
        };
        if cluster_count > FAT32_MAX_CLUSTERS {
            return Err(bad("cluster count", cluster_count));
        }
        let entry_bits: u64 = match fat_type {
            FatType::Fat12 => 12,
            FatType::Fat16 => 16,
            FatType::Fat32 => 32,
        };
        if u64::from(fat_sectors) * bps * 8 / entry_bits < cluster_count + 2 {
            return Err(bad("FAT size", fat_sectors.into()));
        }
        let mut geo = Geometry {
            fat_type,
            bytes_per_sector,
            sectors_per_cluster,
            bytes_per_cluster: bytes_per_sector * sectors_per_cluster,
            reserved_sectors,
            num_fats,
            fat_sectors,
            root_entry_count,
            total_sectors,
            cluster_count: cluster_count as u32,
            root_cluster: 0,
            fsinfo_sector: None,
            active_fat: None,
            bpb_label: [b' '; 11],
        };
        if fat_type == FatType::Fat32 {
            if root_entry_count != 0 {
                return Err(bad("root entry count", root_entry_count.into()));
            }
            if fat_sz16 != 0 {
                return Err(bad("FAT size", fat_sz16.into()));
            }
            let version = sector.u16_le(BPB_FS_VER).unwrap_or(0);
            if version != 0 {
                return Err(bad("file system version", version.into()));
            }
            let root = sector.u32_le(BPB_ROOT_CLUS).unwrap_or(0);
            if !geo.is_data_cluster(root) {
                return Err(bad("root cluster", root.into()));
            }
            geo.root_cluster = root;
            let fsinfo = u32::from(sector.u16_le(BPB_FS_INFO).unwrap_or(0));
            if fsinfo != 0 && fsinfo != 0xFFFF {
                if fsinfo >= reserved_sectors {
                    return Err(bad("FSInfo sector", fsinfo.into()));
                }
                geo.fsinfo_sector = Some(fsinfo);
            }
            let flags = sector.u16_le(BPB_EXT_FLAGS).unwrap_or(0);
            if flags & EXT_FLAGS_NO_MIRRORING != 0 {
                let active = u32::from(flags & EXT_FLAGS_ACTIVE_FAT);
                if active >= num_fats {
                    return Err(bad("active FAT", active.into()));
                }
                geo.active_fat = Some(active);
            }
            geo.bpb_label
                .copy_from_slice(&sector[BS_VOL_LAB_FAT32..BS_VOL_LAB_FAT32 + 11]);
        } else {
            if root_entry_count == 0 {
                return Err(bad("root entry count", 0));
            }
            geo.bpb_label
                .copy_from_slice(&sector[BS_VOL_LAB_FAT16..BS_VOL_LAB_FAT16 + 11]);
        }
        Ok(geo)
    }

    /// Whether `cluster` names a data cluster of this volume.
    pub fn is_data_cluster(&self, cluster: u32) -> bool {
        cluster >= 2 && u64::from(cluster) <= u64::from(self.cluster_count) + 1
    }

    /// Bytes of one FAT copy.
    pub fn fat_bytes(&self) -> u64 {
        u64::from(self.fat_sectors) * u64::from(self.bytes_per_sector)
    }

    /// Byte offset of FAT copy `index`.
    pub fn fat_offset(&self, index: u32) -> u64 {
        u64::from(self.reserved_sectors) * u64::from(self.bytes_per_sector) + u64::from(index) * self.fat_bytes()
    }

    /// Byte offset of the fixed FAT12/16 root directory.
    pub fn root_dir_offset(&self) -> u64 {
        self.fat_offset(self.num_fats)
    }

    /// Bytes of the fixed FAT12/16 root directory region (whole sectors).
    pub fn root_dir_bytes(&self) -> u64 {
        let bps = u64::from(self.bytes_per_sector);
        (u64::from(self.root_entry_count) * 32).div_ceil(bps) * bps
    }

    /// Byte offset of cluster 2, the first data cluster.
    pub fn data_offset(&self) -> u64 {
        self.root_dir_offset() + self.root_dir_bytes()
    }

    /// Byte offset of data cluster `cluster` (which must be a data cluster).
    pub fn cluster_offset(&self, cluster: u32) -> u64 {
        self.data_offset() + u64::from(cluster - 2) * u64::from(self.bytes_per_cluster)
    }

    /// The volume's size in bytes, as the BPB gives it.
    pub fn volume_bytes(&self) -> u64 {
        u64::from(self.total_sectors) * u64::from(self.bytes_per_sector)
    }
}
