; Stackdesk's Windows installer: per-user (no administrator rights), 64-bit.
;
; Built by `cargo xtask package windows` (makensis, also on Linux), which passes:
;   -DVERSION=0.1.0          the app's version
;   -DSTAGE=<dir>            stackdesk-desktop.exe, stackdesk-cli.exe, WebView2Loader.dll, icon.ico
;   -DOUT_FILE=<path>        where the installer goes
;   -DWITH_REDIS             when <STAGE>\resources\redis\ holds a Redis for Windows
;                            (`cargo xtask fetch-redis-windows`, see redis-windows.json)
;   -DFAST_COMPRESSION       zlib instead of solid LZMA (the installer the tests use)
;   -DWEBVIEW2_BOOTSTRAPPER=<path>  optional: Microsoft's WebView2 bootstrapper, run when the
;                            runtime is missing; without it the installer downloads it then.
;
; Silent use: `Stackdesk-<version>-setup.exe /S [/D=<dir>]`; uninstall with
; `uninstall.exe /S [/DELETEDATA]` (user data is kept unless asked, or unless /DELETEDATA).

Unicode true
Target amd64-unicode
!ifdef FAST_COMPRESSION
  SetCompressor zlib ; the tests' installer: built several times faster
!else
  SetCompressor /SOLID lzma
!endif
ManifestDPIAware true
RequestExecutionLevel user

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"
!include "x64.nsh"

!define PRODUCT "Stackdesk"
!define IDENTIFIER "dev.stackdesk.app"
!define APP_EXE "stackdesk-desktop.exe"
!define CLI_EXE "stackdesk-cli.exe"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${PRODUCT}"
; The WebView2 runtime's client id (Evergreen), as Microsoft documents for detecting it.
!define WEBVIEW2_ID "{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}"
!define WEBVIEW2_URL "https://go.microsoft.com/fwlink/p/?LinkId=2124703"

Name "${PRODUCT}"
OutFile "${OUT_FILE}"
InstallDir "$LOCALAPPDATA\Programs\${PRODUCT}"
InstallDirRegKey HKCU "Software\${PRODUCT}" "InstallDir"
BrandingText "${PRODUCT} ${VERSION}"
VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=0 "ProductName" "${PRODUCT}"
VIAddVersionKey /LANG=0 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileDescription" "${PRODUCT} installer"
VIAddVersionKey /LANG=0 "LegalCopyright" "MIT licence"

!define MUI_ICON "${STAGE}\icon.ico"
!define MUI_UNICON "${STAGE}\icon.ico"
!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN "$INSTDIR\${APP_EXE}"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "Russian"

LangString Needs64Bit ${LANG_ENGLISH} "${PRODUCT} needs 64-bit Windows 10 or later."
LangString Needs64Bit ${LANG_RUSSIAN} "${PRODUCT} работает на 64-битной Windows 10 и новее."
LangString WebView2Installing ${LANG_ENGLISH} "Installing Microsoft Edge WebView2 (the window's web engine)…"
LangString WebView2Installing ${LANG_RUSSIAN} "Устанавливаем Microsoft Edge WebView2 (движок окна приложения)…"
LangString WebView2Failed ${LANG_ENGLISH} "Microsoft Edge WebView2 could not be installed. ${PRODUCT} needs it to open its window: install it from https://developer.microsoft.com/microsoft-edge/webview2/ and start ${PRODUCT} again."
LangString WebView2Failed ${LANG_RUSSIAN} "Не удалось установить Microsoft Edge WebView2. Без него окно ${PRODUCT} не откроется: установите его с https://developer.microsoft.com/microsoft-edge/webview2/ и запустите ${PRODUCT} снова."
LangString DeleteData ${LANG_ENGLISH} "Also delete your ${PRODUCT} data (settings, Redis data, products, logs)?$\r$\n$\r$\nChoose No to keep it for a later install."
LangString DeleteData ${LANG_RUSSIAN} "Удалить и ваши данные ${PRODUCT} (настройки, данные Redis, товары, журналы)?$\r$\n$\r$\nНажмите «Нет», чтобы сохранить их для следующей установки."

!include "stop-running.nsh" ; makensis reads this script from its own folder

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_OK|MB_ICONSTOP "$(Needs64Bit)" /SD IDOK
    Abort
  ${EndIf}
FunctionEnd

Section "${PRODUCT}" SecMain
  SectionIn RO
  !insertmacro STACKDESK_STOP_RUNNING
  SetOutPath "$INSTDIR"
  File "${STAGE}\${APP_EXE}"
  File "${STAGE}\${CLI_EXE}"
  File "${STAGE}\WebView2Loader.dll"
  File "${STAGE}\icon.ico"
  !ifdef WITH_REDIS
    ; Found by the app as <install dir>\resources\redis\redis-server.exe.
    SetOutPath "$INSTDIR\resources\redis"
    File /r "${STAGE}\resources\redis\*.*"
    SetOutPath "$INSTDIR"
  !endif
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateShortcut "$SMPROGRAMS\${PRODUCT}.lnk" "$INSTDIR\${APP_EXE}" "" "$INSTDIR\icon.ico"
  CreateShortcut "$DESKTOP\${PRODUCT}.lnk" "$INSTDIR\${APP_EXE}" "" "$INSTDIR\icon.ico"

  WriteRegStr HKCU "Software\${PRODUCT}" "InstallDir" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "${PRODUCT}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\icon.ico"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "EstimatedSize" $0

  Call EnsureWebView2
SectionEnd

; The WebView2 runtime ships with Windows 11 and current Windows 10; install it when missing.
Function EnsureWebView2
  ReadRegStr $0 HKLM "SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_ID}" "pv"
  ${If} $0 == ""
  ${OrIf} $0 == "0.0.0.0"
    ReadRegStr $0 HKCU "Software\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_ID}" "pv"
  ${EndIf}
  ${If} $0 != ""
  ${AndIf} $0 != "0.0.0.0"
    DetailPrint "WebView2 $0"
    Return
  ${EndIf}
  DetailPrint "$(WebView2Installing)"
  InitPluginsDir
  !ifdef WEBVIEW2_BOOTSTRAPPER
    File "/oname=$PLUGINSDIR\MicrosoftEdgeWebview2Setup.exe" "${WEBVIEW2_BOOTSTRAPPER}"
  !else
    ; curl.exe is part of Windows 10 (1803) and later.
    nsExec::Exec '"$SYSDIR\curl.exe" -fsSL -o "$PLUGINSDIR\MicrosoftEdgeWebview2Setup.exe" "${WEBVIEW2_URL}"'
    Pop $1
  !endif
  ${If} ${FileExists} "$PLUGINSDIR\MicrosoftEdgeWebview2Setup.exe"
    ExecWait '"$PLUGINSDIR\MicrosoftEdgeWebview2Setup.exe" /silent /install' $1
    ${If} $1 == 0
      Return
    ${EndIf}
  ${EndIf}
  MessageBox MB_OK|MB_ICONEXCLAMATION "$(WebView2Failed)" /SD IDOK
FunctionEnd

Section "Uninstall"
  !insertmacro STACKDESK_STOP_RUNNING
  Delete "$INSTDIR\${APP_EXE}"
  Delete "$INSTDIR\${CLI_EXE}"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\icon.ico"
  RMDir /r "$INSTDIR\resources"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${PRODUCT}.lnk"
  Delete "$DESKTOP\${PRODUCT}.lnk"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
  DeleteRegKey HKCU "Software\${PRODUCT}"

  ; User data: the app's settings and data (Redis's files, logs, exports) and WebView2's profile.
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/DELETEDATA" $1
  ${IfNot} ${Errors}
    Goto delete_data
  ${EndIf}
  MessageBox MB_YESNO|MB_ICONQUESTION "$(DeleteData)" /SD IDNO IDNO keep_data
  delete_data:
    RMDir /r "$APPDATA\${IDENTIFIER}"
    RMDir /r "$LOCALAPPDATA\${IDENTIFIER}"
  keep_data:
SectionEnd
