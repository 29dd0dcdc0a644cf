// SPDX-License-Identifier: Apache-2.0
// Test victim for tests/windows/sideload_under_wine.sh, built as
// TpmVscMgrSvr.exe (the host the X_TRADER / VEILEDSIGNAL intrusion copied to
// C:\ProgramData\TPM). Like the real program it loads winscard.dll by bare
// name, so the copy in its own folder wins the DLL search order: a harmless
// re-enactment of the side-load. It then writes the path of the module it got
// to a marker file (written aside and renamed, so a reader never sees half of
// it) and sleeps so a collector can find it running.
//   TpmVscMgrSvr.exe MARKER_PATH [SECONDS]
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>

int wmain(int argc, wchar_t** argv) {
  if (argc < 2) {
    fputs("usage: TpmVscMgrSvr.exe MARKER_PATH [SECONDS]\n", stderr);
    return 2;
  }
  const DWORD seconds = argc > 2 ? (DWORD)wcstoul(argv[2], NULL, 10) : 120;
  HMODULE dll = LoadLibraryW(L"winscard.dll");
  if (dll == NULL) {
    fprintf(stderr, "LoadLibraryW(winscard.dll) failed: %lu\n", GetLastError());
    return 3;
  }
  wchar_t path[MAX_PATH + 1] = {0};
  GetModuleFileNameW(dll, path, MAX_PATH);
  char utf8[4 * MAX_PATH + 4] = {0};
  WideCharToMultiByte(CP_UTF8, 0, path, -1, utf8, (int)sizeof utf8 - 1, NULL, NULL);
  wchar_t tmp[MAX_PATH + 8];
  _snwprintf(tmp, MAX_PATH + 7, L"%ls.tmp", argv[1]);
  tmp[MAX_PATH + 7] = L'\0';
  FILE* f = _wfopen(tmp, L"wb");
  if (f == NULL) return 4;
  fprintf(f, "%lu\n%s\n", GetCurrentProcessId(), utf8);
  fclose(f);
  if (!MoveFileExW(tmp, argv[1], MOVEFILE_REPLACE_EXISTING)) return 5;
  Sleep(seconds * 1000);
  FreeLibrary(dll);
  return 0;
}
