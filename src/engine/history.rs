//! Reading the supplier's order history, newest first: the one paging loop
//! that reconciliation scans and the poller share, and the head of the
//! history that attempts record as their watermark.

use std::collections::HashSet;

use super::Inner;
use crate::clock::Millis;
use crate::domain::{SupplierOrderId, Watermark};
use crate::foxreload::{HistoryRow as Row, SupplierError};

/// History page size.
pub(super) const PAGE: u32 = 50;

/// Where the newest supplier order seen in the history is kept, with the
/// instant it was observed.
pub(super) const HEAD_KEY: &str = "supplier.head";

/// What a walker decides about the next row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Keep it and read on.
    Keep,
    /// Keep it; nothing older is needed.
    KeepAndStop,
    /// Stop before it (it is not kept).
    StopBefore,
}

/// Why a walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reached {
    /// The walker said stop.
    Stop,
    /// The history has nothing older.
    End,
    /// The page limit ran out first.
    PageLimit,
}

#[derive(Debug)]
pub(super) struct Walk {
    /// Each row once, newest first.
    pub rows: Vec<Row>,
    pub pages: u32,
    pub reached: Reached,
}

impl Inner {
    /// Pages back through the history, newest first, until `step` says stop,
    /// the history ends, or `max_pages` were read. Pages shift while new
    /// orders arrive; each row is kept once. The end is proven only by an
    /// empty page or a `total` that was reached: a short bare-array page may
    /// be a server's own page cap, not the end.
    pub(super) async fn walk_history(
        &self,
        max_pages: u32,
        mut step: impl FnMut(&Row) -> Step,
    ) -> Result<Walk, SupplierError> {
        let mut walk = Walk {
            rows: Vec::new(),
            pages: 0,
            reached: Reached::PageLimit,
        };
        let mut seen: HashSet<SupplierOrderId> = HashSet::new();
        let mut offset: u32 = 0;
        while walk.pages < max_pages {
            let observed_at = self.now();
            let page = self
                .read(|| self.supplier.orders(&[], PAGE, offset))
                .await?;
            walk.pages += 1;
            if offset == 0
                && let Some(head) = head_of(&page.rows)
            {
                self.remember_head(&head, observed_at).await;
            }
            let rows = page.rows.len();
            let total = page.total;
            for row in page.rows {
                if let Some(id) = row.id()
                    && !seen.insert(id.clone())
                {
                    continue;
                }
                match step(&row) {
                    Step::Keep => walk.rows.push(row),
                    Step::KeepAndStop => {
                        walk.rows.push(row);
                        walk.reached = Reached::Stop;
                        return Ok(walk);
                    }
                    Step::StopBefore => {
                        walk.reached = Reached::Stop;
                        return Ok(walk);
                    }
                }
            }
            offset = offset.saturating_add(u32::try_from(rows).unwrap_or(u32::MAX));
            if rows == 0 || total.is_some_and(|t| i64::from(offset) >= t) {
                walk.reached = Reached::End;
                return Ok(walk);
            }
        }
        Ok(walk)
    }

    /// The newest order known to exist in the history, observed no longer
    /// ago than the settle delay; read (one list request for one order) when
    /// the last observation is older.
    pub(super) async fn watermark(&self) -> Result<Watermark, SupplierError> {
        let now = self.now();
        let fresh_for = crate::clock::millis(self.cfg.settle_delay);
        if let Ok(Some((stored, at))) = self.store.kv_get_with_time(HEAD_KEY).await
            && now.saturating_sub(at) < fresh_for
            && let Ok(head) = Watermark::parse_stored(&stored)
        {
            return Ok(head);
        }
        let observed_at = self.now();
        // A few rows, so that one unreadable row at the top does not hide
        // the head.
        let page = self.read(|| self.supplier.orders(&[], 5, 0)).await?;
        let Some(head) = head_of(&page.rows) else {
            return Err(SupplierError::RetryLater {
                reason: "the newest order in the history has no readable id".to_owned(),
                retry_after: None,
            });
        };
        self.remember_head(&head, observed_at).await;
        // Another observation may be newer than ours: use what is kept.
        match self.store.kv_get_with_time(HEAD_KEY).await {
            Ok(Some((stored, _))) => Ok(Watermark::parse_stored(&stored).unwrap_or(head)),
            _ => Ok(head),
        }
    }

    /// Records the head of the history as observed at `observed_at` (the
    /// instant the read was sent). An older observation never overwrites a
    /// newer one, and "no orders" never overwrites an order: the watermark
    /// only moves forward.
    pub(super) async fn remember_head(&self, head: &Watermark, observed_at: Millis) {
        if let Err(e) = self
            .store
            .kv_set_if_newer(HEAD_KEY, head.as_stored(), observed_at, "")
            .await
        {
            tracing::warn!(error = %e, "could not record the supplier history head");
        }
    }
}

/// The head of the history from its first page: the newest order that
/// parsed, or "no orders" for an empty history. Rows above it that did not
/// parse are newer, so they stay above the watermark and are scanned: an
/// older head is only ever safer. A page of rows none of which parse says
/// nothing.
fn head_of(rows: &[Row]) -> Option<Watermark> {
    if rows.is_empty() {
        return Some(Watermark::Empty);
    }
    rows.iter()
        .find_map(Row::order)
        .map(|o| Watermark::Order(o.id.clone()))
}
