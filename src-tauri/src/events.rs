//! What the window is told through its channel: the stack's events ([`desk::DeskEvent`]), and
//! the window's own close request ([`desk::DeskEvent::CloseRequested`], sent to it alone).

/// One message on the window's channel.
pub type AppEvent = desk::DeskEvent;
