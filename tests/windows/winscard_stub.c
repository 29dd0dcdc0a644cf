// SPDX-License-Identifier: Apache-2.0
// Harmless stand-in for the side-loaded winscard.dll of
// tests/windows/sideload_under_wine.sh. Like the real loader (VEILEDSIGNAL's
// winscard.dll decrypts its payload and runs it from memory), it places a
// PE image in private memory when it is loaded and makes that memory
// executable; the "image" is this DLL's own headers and a marker, never run.
// The collector must report it as executable memory no file backs, with a PE
// header and the SHA-256 the test recomputes from the same bytes.
// Built as winscard.dll.
#include <string.h>
#include <windows.h>

#define TRAWL_REGION_SIZE 65536
static const char kMarker[] = "trawl-test: payload decrypted into private memory";

__declspec(dllexport) int TrawlSideloadTestDummy(void) { return 42; }

// The "payload": this DLL's own PE headers (as a loader copies an image it
// decrypted), then a marker, in private memory that is then made executable.
static void PlaceInMemoryImage(HINSTANCE self) {
  unsigned char* p = (unsigned char*)VirtualAlloc(NULL, TRAWL_REGION_SIZE, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
  if (p == NULL) return;
  const unsigned char* image = (const unsigned char*)self;
  const IMAGE_NT_HEADERS* nt = (const IMAGE_NT_HEADERS*)(image + ((const IMAGE_DOS_HEADER*)image)->e_lfanew);
  DWORD headers = nt->OptionalHeader.SizeOfHeaders;
  if (headers > 0x2000) headers = 0x2000;
  memcpy(p, image, headers);
  memcpy(p + 0x2000, kMarker, sizeof kMarker);
  DWORD old = 0;
  VirtualProtect(p, TRAWL_REGION_SIZE, PAGE_EXECUTE_READ, &old);
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved) {
  (void)reserved;
  if (reason == DLL_PROCESS_ATTACH) PlaceInMemoryImage(instance);
  return TRUE;
}
