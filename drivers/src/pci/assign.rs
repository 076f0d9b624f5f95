//! Assignment of BARs and bridge windows. A bridge forwards only what lies in
//! its windows (PCI-to-PCI Bridge Architecture 1.2 §3.2.5.6-10, §4.3), so a BAR
//! behind it must lie in the matching window of every bridge above it. The plan
//! is made in two passes over the tree of buses: bottom up, each bridge's
//! windows are sized to hold what is behind it (its devices' BARs and its child
//! bridges' windows, packed largest alignment first, rounded to 1 MiB for memory
//! and 4 KiB for I/O); top down, each window or BAR gets an address from its
//! parent's window, the root's being the ones the platform gives ([`BarWindows`]).
//!
//! What a VMM placed stays: a BAR with an address on the root bus, and an open
//! window (with the BARs in it) under bridges whose windows are all open up to
//! the root. BARs behind a closed window cannot be decoded wherever they point,
//! so they are placed again. Non-prefetchable BARs behind a bridge go in its
//! memory window, below 4 GiB (§3.2.5.8); 64-bit prefetchable ones in its
//! prefetchable window, above 4 GiB when the platform has a 64-bit window and
//! every bridge on the way decodes 64 bits. 32-bit prefetchable BARs go in the
//! memory window, which the specification allows (prefetchable memory may be
//! treated as non-prefetchable) and which keeps the prefetchable window free to
//! live above 4 GiB.
#![forbid(unsafe_code)]

use super::bar::{align_up, BarWindows, Window};
use super::bridge::{read_windows, write_window, BridgeWindows, Space};
use super::{Bar, BarKind, ConfigAccess, Error, PciAddress, PciDevice, COMMAND};
use super::{COMMAND_BUS_MASTER, COMMAND_IO_SPACE, COMMAND_MEMORY_SPACE};
use alloc::vec;
use alloc::vec::Vec;
use log::{debug, warn};

/// The node of each bus number.
type BusNodes = [Option<usize>; 256];

/// One bus: the root bus or the secondary bus of a bridge.
struct Node {
    /// The bridge's index in `devices`; `None` for the root bus.
    bridge: Option<usize>,
    parent: usize,
    found: BridgeWindows,
    /// Per space: the window is the VMM's and stays where it is.
    fixed: [bool; 3],
    /// Per space: `(size, alignment)` of the window to place (size 0: closed).
    need: [(u64, u64); 3],
    /// Per space: where this bus's items are allocated from.
    window: [Option<Window>; 3],
    /// The prefetchable window must stay below 4 GiB (the bridge, or one below
    /// it, decodes only 32 bits there).
    prefetchable_below_4g: bool,
}

#[derive(Clone, Copy, Debug)]
enum Owner {
    Bar { device: usize, index: u8 },
    Window { node: usize, space: Space },
}

/// Something to place on a bus.
#[derive(Clone, Copy, Debug)]
struct Item {
    owner: Owner,
    /// The space of the bus it is placed in.
    space: Space,
    size: u64,
    align: u64,
}

/// Gives addresses to every BAR and bridge window that needs one (see the module
/// documentation) from `windows`, writes them to the devices and the bridges,
/// and closes the windows of bridges with nothing behind them. On failure the
/// BAR stays unassigned (its device keeps memory decoding off), everything else
/// is still placed, and the first failure is returned.
pub fn assign_bars<C: ConfigAccess>(
    config: &C,
    devices: &mut [PciDevice],
    windows: &mut BarWindows,
) -> Result<(), Error> {
    let (mut nodes, bus_node) = tree(config, devices);
    let node_of = |device: &PciDevice| bus_node[device.address.bus as usize];
    // Fixed windows, top down: a window is only the VMM's if its parent's is.
    for n in 1..nodes.len() {
        let parent = nodes[n].parent;
        for space in Space::ALL {
            let parent_fixed = parent == 0 || nodes[parent].fixed[parent_space(&nodes[parent], space).index()];
            let open = nodes[n].found.open[space.index()];
            nodes[n].fixed[space.index()] = parent_fixed && open.is_some();
            if let (true, Some((base, size))) = (nodes[n].fixed[space.index()], open) {
                nodes[n].window[space.index()] = Some(Window::new(base, size));
            }
        }
    }
    let kept = |nodes: &[Node], node: usize, bar: &Bar| {
        bar.is_assigned() && (node == 0 || nodes[node].fixed[bar_space(&nodes[node], bar).index()])
    };

    // Sizes, bottom up (a child bridge's node comes after its parent's).
    for n in (1..nodes.len()).rev() {
        let items = items(&nodes, &bus_node, devices, n, &kept);
        for space in Space::ALL {
            if nodes[n].fixed[space.index()] {
                continue;
            }
            let mut mine: Vec<Item> = items.iter().copied().filter(|i| i.space == space).collect();
            sort(&mut mine);
            let mut end = 0u64;
            let mut align = space.granularity();
            for item in &mine {
                end = align_up(end, item.align).map_or(u64::MAX, |at| at.saturating_add(item.size));
                align = align.max(item.align);
            }
            let size = align_up(end, space.granularity()).unwrap_or(u64::MAX);
            nodes[n].need[space.index()] = (size, align);
        }
        let below_4g = !nodes[n].found.prefetchable_64
            || items.iter().any(|i| match i.owner {
                Owner::Window { node, space } => space == Space::Prefetchable && nodes[node].prefetchable_below_4g,
                Owner::Bar { .. } => false,
            });
        nodes[n].prefetchable_below_4g = below_4g;
    }

    // Ranges already claimed: kept BARs and fixed windows (by node, so that
    // allocating inside a window does not avoid the window itself).
    let mut taken: Vec<(Option<usize>, bool, u64, u64)> = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for device in devices.iter().filter(|d| node_of(d) == Some(n)) {
            for bar in device.bars.iter().flatten().filter(|b| kept(&nodes, n, b)) {
                taken.push((None, bar.is_memory(), bar.address, bar.size));
            }
        }
        for space in Space::ALL {
            if let (true, Some((base, size))) = (node.fixed[space.index()], node.found.open[space.index()]) {
                taken.push((Some(n), space != Space::Io, base, size));
            }
        }
    }

    // Places, top down.
    let mut result = Ok(());
    let fail = |error: Error, result: &mut Result<(), Error>| {
        warn!("pci: {error}");
        if result.is_ok() {
            *result = Err(error);
        }
    };
    for n in 0..nodes.len() {
        let mut items = items(&nodes, &bus_node, devices, n, &kept);
        sort(&mut items);
        let ancestors = ancestors(&nodes, n);
        let claimed = |memory: bool| -> Vec<(u64, u64)> {
            taken
                .iter()
                .filter(|t| t.1 == memory && !t.0.is_some_and(|owner| ancestors.contains(&owner)))
                .map(|t| (t.2, t.3))
                .collect()
        };
        let (taken_memory, taken_io) = (claimed(true), claimed(false));
        for item in items {
            let taken = if item.space == Space::Io {
                &taken_io
            } else {
                &taken_memory
            };
            let placed = if n == 0 {
                root_allocate(windows, &nodes, devices, &item, taken)
            } else {
                nodes[n].window[item.space.index()]
                    .as_mut()
                    .and_then(|w| w.allocate(item.size, item.align, taken))
            };
            match (item.owner, placed) {
                (Owner::Bar { device, index }, Some(at)) => place_bar(config, &mut devices[device], index, at),
                (Owner::Bar { device, index }, None) => {
                    let device = &mut devices[device];
                    fail(
                        Error::NoSpaceForBar {
                            address: device.address,
                            bar: index,
                            size: item.size,
                        },
                        &mut result,
                    );
                    if device.bars[index as usize].is_some_and(|b| b.is_assigned()) {
                        place_bar(config, device, index, 0);
                    }
                }
                (Owner::Window { node, space }, Some(at)) => {
                    nodes[node].window[space.index()] = Some(Window::new(at, item.size));
                }
                (Owner::Window { node, space }, None) => {
                    let bridge = nodes[node]
                        .bridge
                        .map_or(PciAddress::new(0, 0, 0), |d| devices[d].address);
                    fail(
                        Error::NoSpaceForWindow {
                            bridge,
                            space,
                            size: item.size,
                        },
                        &mut result,
                    );
                }
            }
        }
    }

    // The bridges' windows: placed, or closed when nothing is behind them.
    for node in nodes.iter().skip(1) {
        let Some(d) = node.bridge else { continue };
        for space in Space::ALL {
            if node.fixed[space.index()] {
                continue;
            }
            let range = node.window[space.index()].map(|w| (w.base(), node.need[space.index()].0));
            let range = range.filter(|&(_, size)| size > 0);
            if space == Space::Prefetchable && !node.found.prefetchable_implemented {
                continue;
            }
            write_window(config, devices[d].address, space, range);
            if let Some((base, size)) = range {
                debug!("pci {}: {space:?} window {base:#x}+{size:#x}", devices[d].address);
            }
        }
    }
    result
}

/// The buses: the root, then every bridge that was given a secondary bus, in
/// enumeration order (so parents come first).
fn tree<C: ConfigAccess>(config: &C, devices: &[PciDevice]) -> (Vec<Node>, BusNodes) {
    let mut bus_node = [None::<usize>; 256];
    let root = Node {
        bridge: None,
        parent: 0,
        found: BridgeWindows::default(),
        fixed: [false; 3],
        need: [(0, 0); 3],
        window: [None; 3],
        prefetchable_below_4g: false,
    };
    let mut nodes = vec![root];
    bus_node[config.root_bus() as usize] = Some(0);
    for (d, device) in devices.iter().enumerate() {
        let Some(secondary) = device.secondary_bus.filter(|&s| s != 0) else {
            continue;
        };
        let Some(parent) = bus_node[device.address.bus as usize] else {
            continue;
        };
        if bus_node[secondary as usize].is_some() {
            continue;
        }
        bus_node[secondary as usize] = Some(nodes.len());
        nodes.push(Node {
            bridge: Some(d),
            parent,
            found: read_windows(config, device.address),
            fixed: [false; 3],
            need: [(0, 0); 3],
            window: [None; 3],
            prefetchable_below_4g: false,
        });
    }
    (nodes, bus_node)
}

/// `n` and the nodes above it.
fn ancestors(nodes: &[Node], mut n: usize) -> Vec<usize> {
    let mut chain = vec![n];
    while n != 0 && chain.len() <= nodes.len() {
        n = nodes[n].parent;
        chain.push(n);
    }
    chain
}

/// The space of `node` that holds a window of `space` of a bridge below it.
fn parent_space(node: &Node, space: Space) -> Space {
    match space {
        Space::Prefetchable if node.bridge.is_some() && !node.found.prefetchable_implemented => Space::Memory,
        other => other,
    }
}

/// The space of `node` that holds `bar`.
fn bar_space(node: &Node, bar: &Bar) -> Space {
    match (bar.kind, bar.prefetchable) {
        (BarKind::Io, _) => Space::Io,
        (BarKind::Memory64, true) => parent_space(node, Space::Prefetchable),
        _ => Space::Memory,
    }
}

/// What is placed on node `n`'s bus: the BARs of its devices that need an
/// address, and the windows of the bridges on it that the firmware places.
fn items(
    nodes: &[Node],
    bus_node: &BusNodes,
    devices: &[PciDevice],
    n: usize,
    kept: &impl Fn(&[Node], usize, &Bar) -> bool,
) -> Vec<Item> {
    let mut items = Vec::new();
    for (d, device) in devices.iter().enumerate() {
        if bus_node[device.address.bus as usize] != Some(n) {
            continue;
        }
        for bar in device.bars.iter().flatten().filter(|b| !kept(nodes, n, b)) {
            items.push(Item {
                owner: Owner::Bar {
                    device: d,
                    index: bar.index,
                },
                space: bar_space(&nodes[n], bar),
                size: bar.size,
                align: bar.size,
            });
        }
    }
    for (c, child) in nodes.iter().enumerate().skip(1) {
        if child.parent != n {
            continue;
        }
        for space in Space::ALL {
            let (size, align) = child.need[space.index()];
            if child.fixed[space.index()] || size == 0 {
                continue;
            }
            items.push(Item {
                owner: Owner::Window { node: c, space },
                space: parent_space(&nodes[n], space),
                size,
                align,
            });
        }
    }
    items
}

/// Largest alignment first, then largest size; otherwise in enumeration order.
fn sort(items: &mut [Item]) {
    items.sort_by_key(|i| (core::cmp::Reverse(i.align), core::cmp::Reverse(i.size)));
}

/// Places an item of the root bus in the platform's windows: 64-bit BARs and
/// 64-bit prefetchable windows above 4 GiB when there is room, the rest below.
fn root_allocate(
    windows: &mut BarWindows,
    nodes: &[Node],
    devices: &[PciDevice],
    item: &Item,
    taken: &[(u64, u64)],
) -> Option<u64> {
    let high = match item.owner {
        Owner::Bar { device, index } => {
            devices[device].bars[index as usize].is_some_and(|b| b.kind == BarKind::Memory64)
        }
        Owner::Window { node, space } => space == Space::Prefetchable && !nodes[node].prefetchable_below_4g,
    };
    let from = |w: &mut Option<Window>| w.as_mut().and_then(|w| w.allocate(item.size, item.align, taken));
    match item.space {
        Space::Io => from(&mut windows.io),
        _ if high => from(&mut windows.mmio64).or_else(|| from(&mut windows.mmio32)),
        _ => from(&mut windows.mmio32),
    }
}

fn place_bar<C: ConfigAccess>(config: &C, device: &mut PciDevice, index: u8, at: u64) {
    let Some(bar) = device.bars[index as usize].as_mut() else {
        return;
    };
    let offset = bar.offset();
    config.write32(device.address, offset, at as u32);
    if bar.kind == BarKind::Memory64 {
        config.write32(device.address, offset + 4, (at >> 32) as u32);
    }
    bar.address = at;
    if at != 0 {
        debug!(
            "pci {}: BAR{index} ({:?}, {:#x} bytes) at {at:#x}",
            device.address, bar.kind, bar.size
        );
    }
}

/// Turns on memory decoding (when every memory BAR has an address; a BAR left at
/// 0 would otherwise claim address 0), I/O decoding (when the function has I/O
/// BARs, all assigned) and bus mastering. Bridges also forward memory and I/O
/// (what their windows hold) and their devices' DMA. Bits already set stay set.
pub fn enable_devices<C: ConfigAccess>(config: &C, devices: &[PciDevice]) {
    for device in devices {
        let bars = device.bars.iter().flatten();
        let memory_ready = bars.clone().filter(|b| b.is_memory()).all(Bar::is_assigned);
        let mut io_bars = bars.filter(|b| !b.is_memory()).peekable();
        let has_io = io_bars.peek().is_some() || device.is_bridge();
        let io_ready = io_bars.all(Bar::is_assigned);
        let old = config.read16(device.address, COMMAND);
        let mut command = old | COMMAND_BUS_MASTER;
        if memory_ready {
            command |= COMMAND_MEMORY_SPACE;
        }
        if has_io && io_ready {
            command |= COMMAND_IO_SPACE;
        }
        if command != old {
            config.write16(device.address, COMMAND, command);
        }
        if !memory_ready {
            warn!("pci {}: memory BAR without address, decoding left off", device.address);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pci::bridge::{IO_WINDOW_GRANULARITY, MEMORY_WINDOW_GRANULARITY as MIB};
    use crate::pci::enumerate;
    use crate::pci::model::{ModelBar, ModelConfig};
    use crate::pci::{BAR0, MEMORY_BASE};

    fn platform() -> BarWindows {
        BarWindows {
            mmio32: Some(Window::new(0x1000_0000, 0x2eff_0000)),
            mmio64: Some(Window::new(0x80_0000_0000, 0x80_0000_0000)),
            io: Some(Window::new(0x1000, 0xF000)),
        }
    }

    const ROOT_PORT: PciAddress = PciAddress::new(0, 1, 0);
    const DISK: PciAddress = PciAddress::new(2, 0, 0);

    /// Root port -> PCI bridge -> a disk with an I/O BAR, a 32-bit BAR and a
    /// 64-bit prefetchable BAR (virtio-blk-pci's layout), and on the root bus a
    /// device with its own BAR. Nothing numbered or placed.
    fn nested() -> ModelConfig {
        let mut model = ModelConfig::new();
        model.add_routed_bridge(ROOT_PORT, 10);
        model.add_routed_bridge(PciAddress::new(10, 0, 0), 11);
        let disk = PciAddress::new(11, 0, 0);
        model.add_function(disk, 0x1AF4, 0x1001, 0x01_00_00);
        model.add_bar(disk, 0, ModelBar::Io { size: 0x80 }, 0);
        let mmio = ModelBar::Memory32 {
            size: 0x1000,
            prefetchable: false,
        };
        model.add_bar(disk, 1, mmio, 0);
        let pref = ModelBar::Memory64 {
            size: 0x4000,
            prefetchable: true,
        };
        model.add_bar(disk, 4, pref, 0);
        let root_device = PciAddress::new(0, 5, 0);
        model.add_function(root_device, 0x1234, 0x1111, 0x03_00_00);
        model.add_bar(root_device, 0, mmio, 0);
        model
    }

    fn contains(window: Option<(u64, u64)>, start: u64, size: u64) -> bool {
        window.is_some_and(|(base, len)| base <= start && start + size <= base + len)
    }

    #[test]
    fn bars_behind_nested_bridges_lie_in_every_window_above_them() {
        let model = nested();
        let mut devices = enumerate(&model);
        assign_bars(&model, &mut devices, &mut platform()).unwrap();
        enable_devices(&model, &devices);

        // Everything as the hardware now decodes it, read back from the registers.
        let again = enumerate(&model);
        let disk = again.iter().find(|d| d.address == DISK).unwrap();
        let bars: Vec<Bar> = disk.bars.iter().flatten().copied().collect();
        assert!(bars.iter().all(Bar::is_assigned), "{bars:?}");
        for bridge in [ROOT_PORT, PciAddress::new(1, 0, 0)] {
            let windows = read_windows(&model, bridge);
            let [io, memory, prefetchable] = windows.open;
            for bar in &bars {
                let window = match (bar.kind, bar.prefetchable) {
                    (BarKind::Io, _) => io,
                    (BarKind::Memory64, true) => prefetchable,
                    _ => memory,
                };
                assert!(
                    contains(window, bar.address, bar.size),
                    "{bar:?} outside {window:?} of {bridge}"
                );
            }
            let (io_base, io_size) = io.unwrap();
            assert_eq!(
                (io_base % IO_WINDOW_GRANULARITY, io_size % IO_WINDOW_GRANULARITY),
                (0, 0)
            );
            for (base, size) in [memory.unwrap(), prefetchable.unwrap()] {
                assert_eq!((base % MIB, size % MIB), (0, 0), "window {base:#x}+{size:#x}");
            }
            assert!(
                prefetchable.unwrap().0 >= 1 << 32,
                "64-bit prefetchable window below 4 GiB"
            );
            assert!(memory.unwrap().0 + memory.unwrap().1 <= 1 << 32);
            let command = model.read16(bridge, COMMAND);
            assert_eq!(
                command & (COMMAND_MEMORY_SPACE | COMMAND_IO_SPACE | COMMAND_BUS_MASTER),
                COMMAND_MEMORY_SPACE | COMMAND_IO_SPACE | COMMAND_BUS_MASTER
            );
        }
        // The root port's window holds the nested bridge's, 1 MiB each.
        assert_eq!(read_windows(&model, ROOT_PORT).open[1].unwrap().1, MIB);
        // The root device's BAR is not inside the root port's memory window.
        let root_bar = again.iter().find(|d| d.address.device == 5).unwrap().bars[0].unwrap();
        let port_memory = read_windows(&model, ROOT_PORT).open[1].unwrap();
        assert!(root_bar.address + root_bar.size <= port_memory.0 || root_bar.address >= port_memory.0 + port_memory.1);
        let disk_command = model.read16(DISK, COMMAND);
        assert_eq!(disk_command & COMMAND_MEMORY_SPACE, COMMAND_MEMORY_SPACE);
    }

    #[test]
    fn without_a_64_bit_window_the_prefetchable_window_goes_below_4_gib() {
        let model = nested();
        let mut devices = enumerate(&model);
        let mut windows = BarWindows {
            mmio64: None,
            ..platform()
        };
        assign_bars(&model, &mut devices, &mut windows).unwrap();
        let (base, size) = read_windows(&model, ROOT_PORT).open[2].unwrap();
        assert!(base >= 0x1000_0000 && base + size <= 0x3eff_0000, "{base:#x}");
    }

    #[test]
    fn bridge_with_nothing_behind_it_gets_closed_windows() {
        let mut model = ModelConfig::new();
        model.add_routed_bridge(ROOT_PORT, 10);
        // Reset state: every window register zero, which would decode [0, 1 MiB).
        let mut devices = enumerate(&model);
        assign_bars(&model, &mut devices, &mut platform()).unwrap();
        assert_eq!(read_windows(&model, ROOT_PORT).open, [None; 3]);
        assert!(model.read16(ROOT_PORT, MEMORY_BASE) > model.read16(ROOT_PORT, MEMORY_BASE + 2));
    }

    #[test]
    fn keeps_windows_and_bars_a_vmm_placed_and_fills_its_window() {
        // As SeaBIOS leaves q35: the root port numbered, its memory window at
        // 0xfe000000 (1 MiB), the disk's BAR in it; a second function behind it
        // has a BAR nobody placed.
        let mut model = ModelConfig::new();
        model.add_bridge(ROOT_PORT, 1);
        model.set16(ROOT_PORT, MEMORY_BASE, 0xFE00);
        model.set16(ROOT_PORT, MEMORY_BASE + 2, 0xFE00);
        let placed = ModelBar::Memory32 {
            size: 0x1000,
            prefetchable: false,
        };
        model.add_function(PciAddress::new(1, 0, 0), 0x1AF4, 0x1042, 0x01_00_00);
        model.set_multifunction(PciAddress::new(1, 0, 0));
        model.add_bar(PciAddress::new(1, 0, 0), 1, placed, 0xFE00_0000);
        model.add_function(PciAddress::new(1, 0, 1), 0x1AF4, 0x1042, 0x01_00_00);
        model.add_bar(PciAddress::new(1, 0, 1), 1, placed, 0);
        let mut devices = enumerate(&model);
        let before = model.writes.borrow().len();
        assign_bars(&model, &mut devices, &mut platform()).unwrap();
        assert_eq!(read_windows(&model, ROOT_PORT).open[1], Some((0xFE00_0000, MIB)));
        assert_eq!(model.read32(PciAddress::new(1, 0, 0), BAR0 + 4), 0xFE00_0000);
        assert_eq!(model.read32(PciAddress::new(1, 0, 1), BAR0 + 4), 0xFE00_1000);
        let window_written = model.writes.borrow()[before..]
            .iter()
            .any(|&(at, offset, _)| at == ROOT_PORT && offset & !3 == MEMORY_BASE);
        assert!(!window_written, "the VMM's memory window was rewritten");
    }

    #[test]
    fn a_window_that_does_not_fit_is_reported_and_the_rest_is_placed() {
        let model = nested();
        let mut devices = enumerate(&model);
        let mut tiny = BarWindows {
            mmio32: Some(Window::new(0x1000_0000, 0x1000)),
            ..platform()
        };
        let error = assign_bars(&model, &mut devices, &mut tiny).unwrap_err();
        assert!(
            matches!(
                error,
                Error::NoSpaceForWindow {
                    bridge: ROOT_PORT,
                    space: Space::Memory,
                    ..
                }
            ),
            "{error:?}"
        );
        enable_devices(&model, &devices);
        // The disk's 32-bit BAR has no address: its memory decoding stays off.
        assert_eq!(model.read16(DISK, COMMAND) & COMMAND_MEMORY_SPACE, 0);
        // The root device got the one page there was.
        assert_eq!(model.read32(PciAddress::new(0, 5, 0), BAR0), 0x1000_0000);
    }
}
