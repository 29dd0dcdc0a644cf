// SPDX-License-Identifier: Apache-2.0
// Harmless stand-in for the side-loaded winscard.dll of
// tests/windows/sideload_under_wine.sh. Like the real loader (VEILEDSIGNAL's
// winscard.dll decrypts its payload and runs it from memory), it places a
// PE image in private memory when it is loaded and makes that memory
// executable; the "image" is a bare header and a marker string, never run.
// The collector must report it as executable memory no file backs, with a PE
// header and the SHA-256 the test recomputes from the same bytes.
// Built as winscard.dll.
#include <string.h>
#include <windows.h>

#define TRAWL_REGION_SIZE 65536
static const char kMarker[] = "trawl-test: payload decrypted into private memory";

__declspec(dllexport) int TrawlSideloadTestDummy(void) { return 42; }

static void PlaceInMemoryImage(void) {
  unsigned char* p = (unsigned char*)VirtualAlloc(NULL, TRAWL_REGION_SIZE, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
  if (p == NULL) return;
  p[0] = 'M';
  p[1] = 'Z';
  p[0x3C] = 0x80;  // e_lfanew
  memcpy(p + 0x80, "PE\0\0", 4);
  p[0x84] = 0x64;  // IMAGE_FILE_MACHINE_AMD64
  p[0x85] = 0x86;
  memcpy(p + 0x200, kMarker, sizeof kMarker);
  DWORD old = 0;
  VirtualProtect(p, TRAWL_REGION_SIZE, PAGE_EXECUTE_READ, &old);
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved) {
  (void)instance;
  (void)reserved;
  if (reason == DLL_PROCESS_ATTACH) PlaceInMemoryImage();
  return TRUE;
}
