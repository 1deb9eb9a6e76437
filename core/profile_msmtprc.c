/* core/profile_msmtprc.c: being written. */
