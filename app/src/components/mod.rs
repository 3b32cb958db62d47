//! UI pieces shared by every feature. Leaves: nothing here imports a feature.

pub mod chart;
pub mod clock;
pub mod copy_button;
pub mod dialog;
pub mod error_view;
pub mod format;
pub mod hydration;
pub mod live;
pub mod location;
pub mod page_data;
pub mod page_header;
pub mod selection;
pub mod subnav;
pub mod theme;
