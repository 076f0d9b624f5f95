//! Events, timers and task priority levels (UEFI 2.10 §7.1).
//!
//! The firmware has no interrupts: timers are checked whenever boot services
//! poll (WaitForEvent, CheckEvent, Stall, RestoreTPL and the console's key
//! reads), against the architecture's monotonic clock.
//!
//! This table only keeps state and decides; it never calls notification
//! functions. The ABI layer takes [`Notification`]s from it with the table
//! unlocked in between, so that a notification function may itself call any
//! event service.
#![forbid(unsafe_code)]

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;
use r_efi::efi;

/// Task priority levels the firmware knows.
pub const TPL_APPLICATION: usize = efi::TPL_APPLICATION;
/// Callbacks: notifications of most events run here.
pub const TPL_CALLBACK: usize = efi::TPL_CALLBACK;
/// Notifications of timers and devices that must run soon.
pub const TPL_NOTIFY: usize = efi::TPL_NOTIFY;
/// Interrupts masked: nothing runs above it.
pub const TPL_HIGH_LEVEL: usize = efi::TPL_HIGH_LEVEL;

/// Type bits CreateEvent accepts.
const KNOWN_TYPE_BITS: u32 = efi::EVT_TIMER
    | efi::EVT_RUNTIME
    | efi::EVT_NOTIFY_WAIT
    | efi::EVT_NOTIFY_SIGNAL
    | efi::EVT_SIGNAL_EXIT_BOOT_SERVICES
    | efi::EVT_SIGNAL_VIRTUAL_ADDRESS_CHANGE;

/// Bits that exist only as parts of the two signal-group types
/// (`EVT_SIGNAL_EXIT_BOOT_SERVICES`, `EVT_SIGNAL_VIRTUAL_ADDRESS_CHANGE`): a type
/// that carries one of them and is not exactly one of those types has an
/// unsupported bit set (UEFI 2.10 §7.1, CreateEvent).
const GROUP_TYPE_BITS: u32 =
    KNOWN_TYPE_BITS & !(efi::EVT_TIMER | efi::EVT_RUNTIME | efi::EVT_NOTIFY_WAIT | efi::EVT_NOTIFY_SIGNAL);

/// The first event id; ids are never reused, so a closed event handed back by an
/// application is recognised as invalid.
const FIRST_EVENT_ID: usize = 0x0e7e_0000_0001;

/// Opaque event identifier, handed to applications as `EFI_EVENT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(pub usize);

/// Why an event service failed, with the status the specification names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventError {
    /// The event is not in the table (never created, or closed).
    UnknownEvent(EventId),
    /// Type bits CreateEvent does not know, or a combination it refuses.
    BadType(u32),
    /// A TPL that is not one of the four levels.
    BadTpl(usize),
    /// A notify type without a notification function.
    MissingNotifyFunction,
    /// A group together with a type that implies one (EXIT_BOOT_SERVICES,
    /// VIRTUAL_ADDRESS_CHANGE).
    GroupWithImplicitGroupType,
    /// SetTimer on an event that is not a timer.
    NotATimer(EventId),
    /// A timer type beyond `TimerRelative`.
    BadTimerType(u32),
    /// CheckEvent on an EVT_NOTIFY_SIGNAL event.
    CheckOnNotifySignal(EventId),
    /// CheckEvent on an event that is not signalled.
    NotReady,
    /// WaitForEvent above TPL_APPLICATION.
    WaitAtRaisedTpl(usize),
}

impl EventError {
    /// The status the specification names for this error.
    pub fn status(&self) -> efi::Status {
        match self {
            EventError::NotReady => efi::Status::NOT_READY,
            EventError::WaitAtRaisedTpl(_) => efi::Status::UNSUPPORTED,
            _ => efi::Status::INVALID_PARAMETER,
        }
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::UnknownEvent(id) => write!(f, "no event {:#x}", id.0),
            EventError::BadType(t) => write!(f, "invalid event type {t:#x}"),
            EventError::BadTpl(t) => write!(f, "invalid notification TPL {t}"),
            EventError::MissingNotifyFunction => {
                write!(f, "notify event without a notify function")
            }
            EventError::GroupWithImplicitGroupType => {
                write!(f, "event group given for a type that already implies one")
            }
            EventError::NotATimer(id) => write!(f, "event {:#x} is not a timer event", id.0),
            EventError::BadTimerType(t) => write!(f, "invalid timer type {t}"),
            EventError::CheckOnNotifySignal(id) => {
                write!(f, "CheckEvent on notify-signal event {:#x}", id.0)
            }
            EventError::NotReady => write!(f, "event not signaled"),
            EventError::WaitAtRaisedTpl(t) => write!(f, "WaitForEvent at TPL {t}"),
        }
    }
}

/// A notification function to call: `function(event, context)` at `tpl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The event being notified.
    pub event: EventId,
    /// The notification function's address.
    pub function: usize,
    /// The context to pass it.
    pub context: usize,
    /// The TPL to run it at.
    pub tpl: usize,
}

#[derive(Clone, Copy, Debug)]
enum Timer {
    Once { due_ns: u64 },
    Periodic { due_ns: u64, period_ns: u64 },
}

#[derive(Debug)]
struct Event {
    kind: u32,
    tpl: usize,
    function: usize,
    context: usize,
    group: Option<efi::Guid>,
    signaled: bool,
    queued: bool,
    timer: Option<Timer>,
}

impl Event {
    fn notify_signal(&self) -> bool {
        self.kind & efi::EVT_NOTIFY_SIGNAL != 0
    }
    fn notify_wait(&self) -> bool {
        self.kind & efi::EVT_NOTIFY_WAIT != 0
    }
}

/// All events, pending notifications and the current TPL.
pub struct EventTable {
    events: BTreeMap<EventId, Event>,
    /// Events whose notification function is due, in the order they were queued.
    queue: Vec<EventId>,
    next_id: usize,
    tpl: usize,
}

impl Default for EventTable {
    fn default() -> Self {
        EventTable::new()
    }
}

/// Which group a type implies (§7.1 CreateEvent, "EVT_SIGNAL_*").
fn implied_group(kind: u32) -> Option<efi::Guid> {
    if kind == efi::EVT_SIGNAL_EXIT_BOOT_SERVICES {
        Some(efi::EVENT_GROUP_EXIT_BOOT_SERVICES)
    } else if kind == efi::EVT_SIGNAL_VIRTUAL_ADDRESS_CHANGE {
        Some(efi::EVENT_GROUP_VIRTUAL_ADDRESS_CHANGE)
    } else {
        None
    }
}

impl EventTable {
    /// An empty table at TPL_APPLICATION.
    pub const fn new() -> EventTable {
        EventTable {
            events: BTreeMap::new(),
            queue: Vec::new(),
            next_id: FIRST_EVENT_ID,
            tpl: TPL_APPLICATION,
        }
    }

    /// CreateEvent / CreateEventEx.
    pub fn create(
        &mut self,
        kind: u32,
        tpl: usize,
        function: usize,
        context: usize,
        group: Option<efi::Guid>,
    ) -> Result<EventId, EventError> {
        if kind & !KNOWN_TYPE_BITS != 0 {
            return Err(EventError::BadType(kind));
        }
        if kind & GROUP_TYPE_BITS != 0
            && kind != efi::EVT_SIGNAL_EXIT_BOOT_SERVICES
            && kind != efi::EVT_SIGNAL_VIRTUAL_ADDRESS_CHANGE
        {
            return Err(EventError::BadType(kind));
        }
        let signal = kind & efi::EVT_NOTIFY_SIGNAL != 0;
        let wait = kind & efi::EVT_NOTIFY_WAIT != 0;
        if signal && wait {
            return Err(EventError::BadType(kind));
        }
        if signal || wait {
            if function == 0 {
                return Err(EventError::MissingNotifyFunction);
            }
            if tpl <= TPL_APPLICATION || tpl > TPL_HIGH_LEVEL {
                return Err(EventError::BadTpl(tpl));
            }
        }
        let implied = implied_group(kind);
        if implied.is_some() && group.is_some() {
            return Err(EventError::GroupWithImplicitGroupType);
        }
        let id = EventId(self.next_id);
        self.next_id += 1;
        self.events.insert(
            id,
            Event {
                kind,
                tpl,
                function,
                context,
                group: group.or(implied),
                signaled: false,
                queued: false,
                timer: None,
            },
        );
        Ok(id)
    }

    /// Whether `id` names an open event.
    pub fn exists(&self, id: EventId) -> bool {
        self.events.contains_key(&id)
    }

    /// CloseEvent: also cancels its timer and any pending notification.
    pub fn close(&mut self, id: EventId) -> Result<(), EventError> {
        self.events.remove(&id).ok_or(EventError::UnknownEvent(id))?;
        self.queue.retain(|&q| q != id);
        Ok(())
    }

    fn signal_one(&mut self, id: EventId) {
        let Some(event) = self.events.get_mut(&id) else {
            return;
        };
        if event.signaled {
            return;
        }
        event.signaled = true;
        if event.notify_signal() && !event.queued {
            event.queued = true;
            self.queue.push(id);
        }
    }

    /// SignalEvent: an event in a group signals the whole group.
    pub fn signal(&mut self, id: EventId) -> Result<(), EventError> {
        let group = self.events.get(&id).ok_or(EventError::UnknownEvent(id))?.group;
        match group {
            Some(group) => self.signal_group(&group),
            None => self.signal_one(id),
        }
        Ok(())
    }

    /// Signals every event of a group (ExitBootServices, ReadyToBoot, ...).
    pub fn signal_group(&mut self, group: &efi::Guid) {
        let members: Vec<EventId> = self
            .events
            .iter()
            .filter(|(_, e)| e.group.as_ref() == Some(group))
            .map(|(&id, _)| id)
            .collect();
        for id in members {
            self.signal_one(id);
        }
    }

    /// First half of CheckEvent: `Ok(true)` when signaled (the signal is consumed);
    /// `Ok(false)` when not, after queueing the wait notification of a
    /// NOTIFY_WAIT event. The caller then runs due notifications and asks
    /// [`EventTable::consume_signal`].
    pub fn check(&mut self, id: EventId) -> Result<bool, EventError> {
        let event = self.events.get_mut(&id).ok_or(EventError::UnknownEvent(id))?;
        if event.notify_signal() {
            return Err(EventError::CheckOnNotifySignal(id));
        }
        if event.signaled {
            event.signaled = false;
            return Ok(true);
        }
        if event.notify_wait() && !event.queued {
            event.queued = true;
            self.queue.push(id);
        }
        Ok(false)
    }

    /// Consumes a signal if the event has one (the second half of CheckEvent).
    pub fn consume_signal(&mut self, id: EventId) -> Result<(), EventError> {
        let event = self.events.get_mut(&id).ok_or(EventError::UnknownEvent(id))?;
        if event.signaled {
            event.signaled = false;
            Ok(())
        } else {
            Err(EventError::NotReady)
        }
    }

    /// SetTimer. `trigger_100ns` is in the specification's 100 ns units.
    pub fn set_timer(
        &mut self,
        id: EventId,
        timer_type: u32,
        trigger_100ns: u64,
        now_ns: u64,
    ) -> Result<(), EventError> {
        let event = self.events.get_mut(&id).ok_or(EventError::UnknownEvent(id))?;
        if event.kind & efi::EVT_TIMER == 0 {
            return Err(EventError::NotATimer(id));
        }
        let delay_ns = trigger_100ns.saturating_mul(100);
        event.timer = match timer_type {
            efi::TIMER_CANCEL => None,
            efi::TIMER_RELATIVE => Some(Timer::Once {
                due_ns: now_ns.saturating_add(delay_ns),
            }),
            efi::TIMER_PERIODIC => Some(Timer::Periodic {
                due_ns: now_ns.saturating_add(delay_ns),
                period_ns: delay_ns,
            }),
            other => return Err(EventError::BadTimerType(other)),
        };
        Ok(())
    }

    /// Signals every timer that is due at `now_ns`; periodic timers are re-armed.
    pub fn poll_timers(&mut self, now_ns: u64) {
        let mut due = Vec::new();
        for (&id, event) in &mut self.events {
            match event.timer {
                Some(Timer::Once { due_ns }) if due_ns <= now_ns => {
                    event.timer = None;
                    due.push(id);
                }
                Some(Timer::Periodic { due_ns, period_ns }) if due_ns <= now_ns => {
                    // A period of 0 fires on every poll; missed periods are not replayed.
                    let next = match (now_ns - due_ns).checked_div(period_ns) {
                        None => now_ns,
                        Some(elapsed_periods) => {
                            let missed = elapsed_periods + 1;
                            due_ns.saturating_add(missed.saturating_mul(period_ns))
                        }
                    };
                    event.timer = Some(Timer::Periodic {
                        due_ns: next,
                        period_ns,
                    });
                    due.push(id);
                }
                _ => {}
            }
        }
        for id in due {
            self.signal_one(id);
        }
    }

    /// The earliest time a timer is due, for idle loops.
    pub fn next_timer_due(&self) -> Option<u64> {
        self.events
            .values()
            .filter_map(|e| match e.timer {
                Some(Timer::Once { due_ns } | Timer::Periodic { due_ns, .. }) => Some(due_ns),
                None => None,
            })
            .min()
    }

    /// The task priority level now.
    pub fn current_tpl(&self) -> usize {
        self.tpl
    }

    /// RaiseTPL: returns the previous level. A lower level than the current
    /// one is a caller error the specification leaves undefined; we keep the
    /// current level.
    pub fn raise_tpl(&mut self, tpl: usize) -> usize {
        let old = self.tpl;
        self.tpl = tpl.clamp(old, TPL_HIGH_LEVEL);
        old
    }

    /// RestoreTPL: sets the level; the caller then dispatches with
    /// [`EventTable::next_notification`] until it returns `None`.
    pub fn restore_tpl(&mut self, tpl: usize) {
        self.tpl = tpl.min(TPL_HIGH_LEVEL);
    }

    /// Sets the level directly (around a notification call).
    pub fn set_tpl(&mut self, tpl: usize) {
        self.tpl = tpl;
    }

    /// Takes the next notification that may run above the current TPL: the
    /// highest notification TPL first, first queued first within a level.
    /// NOTIFY_SIGNAL events lose their signal when their function is taken.
    pub fn next_notification(&mut self) -> Option<Notification> {
        let current = self.tpl;
        let (index, id) = self
            .queue
            .iter()
            .enumerate()
            .filter(|(_, id)| self.events.get(id).is_some_and(|e| e.tpl > current))
            .max_by(|(ia, a), (ib, b)| {
                let (ta, tb) = (self.events[a].tpl, self.events[b].tpl);
                ta.cmp(&tb).then(ib.cmp(ia))
            })
            .map(|(i, &id)| (i, id))?;
        self.queue.remove(index);
        let event = self.events.get_mut(&id)?;
        event.queued = false;
        if event.notify_signal() {
            event.signaled = false;
        }
        Some(Notification {
            event: id,
            function: event.function,
            context: event.context,
            tpl: event.tpl,
        })
    }

    /// The (function, context) of every event in the VirtualAddressChange
    /// group: SetVirtualAddressMap calls them after ExitBootServices, when this
    /// table (on the boot-services heap) is gone.
    pub fn address_change_notifications(&self) -> Vec<(usize, usize)> {
        self.events
            .values()
            .filter(|e| e.group == Some(efi::EVENT_GROUP_VIRTUAL_ADDRESS_CHANGE) && e.function != 0)
            .map(|e| (e.function, e.context))
            .collect()
    }

    /// Whether WaitForEvent may run now.
    pub fn check_wait_allowed(&self) -> Result<(), EventError> {
        if self.tpl != TPL_APPLICATION {
            return Err(EventError::WaitAtRaisedTpl(self.tpl));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: usize = 0x1000; // a notify function address
    const S: u32 = efi::EVT_NOTIFY_SIGNAL;
    const W: u32 = efi::EVT_NOTIFY_WAIT;
    const T: u32 = efi::EVT_TIMER;

    #[test]
    fn create_validates_type_tpl_and_function() {
        let mut t = EventTable::new();
        assert_eq!(
            t.create(S, TPL_CALLBACK, 0, 0, None),
            Err(EventError::MissingNotifyFunction)
        );
        assert_eq!(
            t.create(S, TPL_APPLICATION, F, 0, None),
            Err(EventError::BadTpl(TPL_APPLICATION))
        );
        assert_eq!(
            t.create(S | W, TPL_CALLBACK, F, 0, None),
            Err(EventError::BadType(S | W))
        );
        assert_eq!(t.create(0x10, TPL_CALLBACK, F, 0, None), Err(EventError::BadType(0x10)));
        for part_of_a_group_type in [0x1, 0x2, S | 0x1 | T, 0x2000_0000] {
            assert_eq!(
                t.create(part_of_a_group_type, TPL_CALLBACK, F, 0, None),
                Err(EventError::BadType(part_of_a_group_type)),
                "{part_of_a_group_type:#x} has a bit only the signal-group types may carry"
            );
        }
        assert!(t
            .create(efi::EVT_SIGNAL_EXIT_BOOT_SERVICES, TPL_CALLBACK, F, 0, None)
            .is_ok());
        assert!(t
            .create(efi::EVT_SIGNAL_VIRTUAL_ADDRESS_CHANGE, TPL_CALLBACK, F, 0, None)
            .is_ok());
        assert!(
            t.create(T, 0, 0, 0, None).is_ok(),
            "plain timer events need no function"
        );
        assert_eq!(
            t.create(
                efi::EVT_SIGNAL_EXIT_BOOT_SERVICES,
                TPL_NOTIFY,
                F,
                0,
                Some(efi::EVENT_GROUP_READY_TO_BOOT)
            ),
            Err(EventError::GroupWithImplicitGroupType)
        );
        assert_eq!(EventError::BadTpl(0).status(), efi::Status::INVALID_PARAMETER);
    }

    #[test]
    fn closed_events_are_invalid_and_ids_are_not_reused() {
        let mut t = EventTable::new();
        let a = t.create(0, 0, 0, 0, None).unwrap();
        t.close(a).unwrap();
        assert_eq!(t.signal(a), Err(EventError::UnknownEvent(a)));
        assert_eq!(t.close(a), Err(EventError::UnknownEvent(a)));
        let b = t.create(0, 0, 0, 0, None).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn signal_queues_notify_signal_once_and_clears_on_dispatch() {
        let mut t = EventTable::new();
        let e = t.create(S, TPL_CALLBACK, F, 7, None).unwrap();
        t.signal(e).unwrap();
        t.signal(e).unwrap();
        let n = t.next_notification().unwrap();
        assert_eq!(
            n,
            Notification {
                event: e,
                function: F,
                context: 7,
                tpl: TPL_CALLBACK
            }
        );
        assert_eq!(t.next_notification(), None);
        // Signal state was cleared with the dispatch, so it can fire again.
        t.signal(e).unwrap();
        assert!(t.next_notification().is_some());
    }

    #[test]
    fn notifications_wait_while_tpl_is_raised_and_run_highest_first() {
        let mut t = EventTable::new();
        let low = t.create(S, TPL_CALLBACK, F, 1, None).unwrap();
        let high = t.create(S, TPL_NOTIFY, F, 2, None).unwrap();
        let old = t.raise_tpl(TPL_NOTIFY);
        assert_eq!(old, TPL_APPLICATION);
        t.signal(low).unwrap();
        t.signal(high).unwrap();
        assert_eq!(t.next_notification(), None, "nothing runs at or below the current TPL");
        t.restore_tpl(old);
        assert_eq!(t.next_notification().unwrap().event, high);
        assert_eq!(t.next_notification().unwrap().event, low);
    }

    #[test]
    fn check_event_consumes_signal_and_queues_wait_notifications() {
        let mut t = EventTable::new();
        let plain = t.create(0, 0, 0, 0, None).unwrap();
        assert_eq!(t.check(plain), Ok(false));
        t.signal(plain).unwrap();
        assert_eq!(t.check(plain), Ok(true));
        assert_eq!(t.check(plain), Ok(false), "the signal was consumed");

        let wait = t.create(W, TPL_CALLBACK, F, 3, None).unwrap();
        assert_eq!(t.check(wait), Ok(false));
        let n = t.next_notification().unwrap();
        assert_eq!(n.context, 3);
        // The notification function signals its event; CheckEvent then succeeds.
        t.signal(wait).unwrap();
        assert_eq!(t.consume_signal(wait), Ok(()));
        assert_eq!(t.consume_signal(wait), Err(EventError::NotReady));

        let signal = t.create(S, TPL_CALLBACK, F, 0, None).unwrap();
        assert_eq!(t.check(signal), Err(EventError::CheckOnNotifySignal(signal)));
    }

    #[test]
    fn groups_signal_together_including_implied_groups() {
        let mut t = EventTable::new();
        let a = t
            .create(S, TPL_CALLBACK, F, 1, Some(efi::EVENT_GROUP_READY_TO_BOOT))
            .unwrap();
        let b = t
            .create(S, TPL_CALLBACK, F, 2, Some(efi::EVENT_GROUP_READY_TO_BOOT))
            .unwrap();
        let exit = t
            .create(efi::EVT_SIGNAL_EXIT_BOOT_SERVICES, TPL_NOTIFY, F, 3, None)
            .unwrap();
        t.signal(a).unwrap();
        let fired: Vec<EventId> = core::iter::from_fn(|| t.next_notification()).map(|n| n.event).collect();
        assert_eq!(fired, [a, b]);
        t.signal_group(&efi::EVENT_GROUP_EXIT_BOOT_SERVICES);
        assert_eq!(t.next_notification().unwrap().event, exit);
    }

    #[test]
    fn relative_and_periodic_timers_fire_when_due() {
        let mut t = EventTable::new();
        let once = t.create(T, 0, 0, 0, None).unwrap();
        let tick = t.create(T | S, TPL_CALLBACK, F, 0, None).unwrap();
        t.set_timer(once, efi::TIMER_RELATIVE, 10, 1_000).unwrap(); // due at 2000 ns
        t.set_timer(tick, efi::TIMER_PERIODIC, 5, 1_000).unwrap(); // every 500 ns from 1500
        assert_eq!(t.next_timer_due(), Some(1_500));
        t.poll_timers(1_499);
        assert_eq!(t.check(once), Ok(false));
        assert_eq!(t.next_notification(), None);
        t.poll_timers(2_000);
        assert_eq!(t.check(once), Ok(true));
        assert_eq!(t.next_notification().unwrap().event, tick);
        t.poll_timers(10_000);
        assert_eq!(t.check(once), Ok(false), "a relative timer fires once");
        assert_eq!(t.next_notification().unwrap().event, tick);
        assert_eq!(t.next_timer_due(), Some(10_500));
        t.set_timer(tick, efi::TIMER_CANCEL, 0, 10_000).unwrap();
        t.poll_timers(1_000_000);
        assert_eq!(t.next_notification(), None);
    }

    #[test]
    fn set_timer_rejects_non_timer_events_and_bad_types() {
        let mut t = EventTable::new();
        let plain = t.create(0, 0, 0, 0, None).unwrap();
        assert_eq!(
            t.set_timer(plain, efi::TIMER_RELATIVE, 1, 0),
            Err(EventError::NotATimer(plain))
        );
        let timer = t.create(T, 0, 0, 0, None).unwrap();
        assert_eq!(t.set_timer(timer, 9, 1, 0), Err(EventError::BadTimerType(9)));
    }

    #[test]
    fn wait_for_event_needs_tpl_application() {
        let mut t = EventTable::new();
        assert_eq!(t.check_wait_allowed(), Ok(()));
        t.raise_tpl(TPL_CALLBACK);
        assert_eq!(t.check_wait_allowed().unwrap_err().status(), efi::Status::UNSUPPORTED);
    }

    #[test]
    fn keeps_virtual_address_change_notifications_for_runtime() {
        let mut t = EventTable::new();
        t.create(efi::EVT_SIGNAL_VIRTUAL_ADDRESS_CHANGE, TPL_NOTIFY, F, 9, None)
            .unwrap();
        t.create(S, TPL_NOTIFY, F + 1, 8, Some(efi::EVENT_GROUP_VIRTUAL_ADDRESS_CHANGE))
            .unwrap();
        t.create(S, TPL_NOTIFY, F + 2, 7, None).unwrap();
        assert_eq!(t.address_change_notifications(), [(F, 9), (F + 1, 8)]);
    }

    #[test]
    fn closing_an_event_drops_its_pending_notification() {
        let mut t = EventTable::new();
        let e = t.create(S, TPL_CALLBACK, F, 0, None).unwrap();
        t.signal(e).unwrap();
        t.close(e).unwrap();
        assert_eq!(t.next_notification(), None);
    }
}
