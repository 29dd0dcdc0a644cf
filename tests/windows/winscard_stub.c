// SPDX-License-Identifier: Apache-2.0
// Harmless stand-in for the side-loaded winscard.dll of
// tests/windows/sideload_under_wine.sh: it does nothing but exist, be
// loaded, and export one function. Built as winscard.dll.
#include <windows.h>

__declspec(dllexport) int TrawlSideloadTestDummy(void) { return 42; }

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved) {
  (void)instance;
  (void)reason;
  (void)reserved;
  return TRUE;
}
