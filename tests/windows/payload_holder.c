// SPDX-License-Identifier: Apache-2.0
// Harmless stand-in for the msvcr100.dll "payload container" that sat next to
// the side-loaded winscard.dll in C:\ProgramData\TPM (VEILEDSIGNAL). It is
// never loaded by the test; its bytes only have to be a real DLL.
#include <windows.h>

__declspec(dllexport) const char kTrawlTestPayloadHolder[] = "trawl test: not a payload";

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved) {
  (void)instance;
  (void)reason;
  (void)reserved;
  return TRUE;
}
