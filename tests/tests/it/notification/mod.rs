//! Email delivery: the notification service, the outbox relays and the whole story end to
//! end, delivered over SMTP to a real server (aiosmtpd).
mod delivery;
mod end_to_end;
