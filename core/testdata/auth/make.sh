#!/bin/sh
# Regenerates the authenticated-variable fixtures of
# core/src/secure_boot/auth_write.rs (and the EFI test application's
# SetVariable check) with Debian's efitools 1.9.2 and OpenSSL 3.
# The keys are throwaway test keys; the outputs are committed so that the
# tests need neither tool. Run from this directory: sh make.sh
set -eu
OWNER=5b6b1f0e-7c2a-4d3e-9a41-687666777362
for k in PK KEK DB DB2 WRONG; do
    openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 36500 \
        -subj "/CN=hypervisor-fw test $k/" -keyout $k.key -out $k.crt 2>/dev/null
    cert-to-efi-sig-list -g $OWNER $k.crt $k.esl
done
: > empty.esl
# Setup mode: PK enrolled by itself (edk2 wants it self-signed; the spec does not).
sign-efi-sig-list -t "2026-01-01 00:00:00" -k PK.key -c PK.crt PK PK.esl PK.auth
# User mode: KEK written with PK, db written and appended with KEK.
sign-efi-sig-list -t "2026-01-02 00:00:00" -k PK.key -c PK.crt KEK KEK.esl KEK.auth
sign-efi-sig-list -t "2026-01-03 00:00:00" -k KEK.key -c KEK.crt db DB.esl db.auth
sign-efi-sig-list -a -t "2026-01-04 00:00:00" -k KEK.key -c KEK.crt db DB2.esl db-append.auth
# The same append again (a later timestamp): nothing new enters db.
sign-efi-sig-list -a -t "2026-01-05 00:00:00" -k KEK.key -c KEK.crt db DB2.esl db-append-again.auth
# PK may sign db too.
sign-efi-sig-list -a -t "2026-01-06 00:00:00" -k PK.key -c PK.crt db DB2.esl db-append-pk.auth
# Refused: signed by a key that is neither PK nor in KEK.
sign-efi-sig-list -a -t "2026-01-07 00:00:00" -k WRONG.key -c WRONG.crt db WRONG.esl db-wrong-key.auth
# Refused after db.auth: an older timestamp (a replay of an earlier update).
sign-efi-sig-list -t "2025-12-31 00:00:00" -k KEK.key -c KEK.crt db DB2.esl db-older.auth
# Refused in user mode: KEK signed by KEK (only PK may).
sign-efi-sig-list -t "2026-01-08 00:00:00" -k KEK.key -c KEK.crt KEK DB2.esl KEK-by-kek.auth
# dbx: a KEK-signed append.
sign-efi-sig-list -a -t "2026-01-09 00:00:00" -k KEK.key -c KEK.crt dbx WRONG.esl dbx-append.auth
# A new PK (DB2's certificate) signed by the old one: user mode stays.
sign-efi-sig-list -t "2026-01-12 00:00:00" -k PK.key -c PK.crt PK DB2.esl PK-replace.auth
# Deleting PK (an empty, PK-signed payload) returns to setup mode.
sign-efi-sig-list -t "2026-01-10 00:00:00" -k PK.key -c PK.crt PK empty.esl noPK.auth
# Signed attributes (openssl cms without -noattr) over the exact bundle
# sign-efi-sig-list -o prints, assembled with -i (DER, despite its help text;
# openssl cms keeps the outer ContentInfo, sign-efi-sig-list does not).
sign-efi-sig-list -o -a -t "2026-01-11 00:00:00" db DB2.esl db-attrs.bundle
openssl cms -sign -binary -md sha256 -in db-attrs.bundle -signer KEK.crt -inkey KEK.key \
    -outform DER -out db-attrs.p7
sign-efi-sig-list -a -t "2026-01-11 00:00:00" -i db-attrs.p7 db DB2.esl db-attrs.auth
# What the signature of db-append.auth covers, as efitools computes it.
sign-efi-sig-list -o -a -t "2026-01-04 00:00:00" db DB2.esl db-append.bundle
rm -f *.key db-attrs.bundle db-attrs.p7 empty.esl
chmod 644 *.auth *.esl *.crt *.bundle
