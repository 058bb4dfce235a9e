# SPDX-License-Identifier: BSD-3-Clause
# Control-device validation and the server-fd protocol, without a TPM.
. /tests/lib.sh
ensure_module
kvtpm_uapi_test
