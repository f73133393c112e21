//! Converted periods (tiết quy đổi) of core people who support their peers, and who pays them.
//! By default a group of 50 learners counts 40 periods, pro rata (Plan 2021); a class shared by
//! several core people is shared equally. Primary and lower-secondary core teachers are paid by
//! the province, upper-secondary ones by their school; each province may change both rules.

use serde::{Deserialize, Serialize};

use crate::org::Level;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PeriodRule {
    pub periods_per_group: f64,
    pub group_size: f64,
}

impl Default for PeriodRule {
    fn default() -> Self {
        PeriodRule { periods_per_group: 40.0, group_size: 50.0 }
    }
}

impl PeriodRule {
    /// Periods for supporting `learners` learners (a share of a class), rounded to 0.01.
    pub fn periods(&self, learners: f64) -> f64 {
        if self.group_size <= 0.0 {
            return 0.0;
        }
        (learners * self.periods_per_group / self.group_size * 100.0).round() / 100.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payer {
    School,
    Province,
}

impl Payer {
    pub fn as_str(self) -> &'static str {
        match self {
            Payer::School => "school",
            Payer::Province => "province",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "school" => Some(Payer::School),
            "province" => Some(Payer::Province),
            _ => None,
        }
    }
    /// The default payer for a core person teaching at `level` (Plan 2021).
    pub fn default_for(level: Option<Level>) -> Payer {
        match level {
            Some(Level::THPT) => Payer::School,
            _ => Payer::Province,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forty_periods_for_fifty_pro_rata() {
        let r = PeriodRule::default();
        assert_eq!(r.periods(50.0), 40.0);
        assert_eq!(r.periods(25.0), 20.0);
        assert_eq!(r.periods(12.5), 10.0);
        assert_eq!(r.periods(7.0), 5.6);
        assert_eq!(PeriodRule { periods_per_group: 30.0, group_size: 0.0 }.periods(10.0), 0.0);
    }

    #[test]
    fn payers_by_level() {
        assert_eq!(Payer::default_for(Some(Level::THPT)), Payer::School);
        assert_eq!(Payer::default_for(Some(Level::THCS)), Payer::Province);
        assert_eq!(Payer::default_for(Some(Level::TH)), Payer::Province);
        assert_eq!(Payer::parse("school"), Some(Payer::School));
    }
}
