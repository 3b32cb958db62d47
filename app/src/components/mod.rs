//! UI pieces shared by every feature.

pub mod chart;
pub mod clock;
pub mod copy_button;
pub mod error_view;
pub mod format;
pub mod layout;
pub mod live;
pub mod selection;
pub mod theme;
