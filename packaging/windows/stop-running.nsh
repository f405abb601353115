; Stops a running Stackdesk before its files are replaced or removed: the app first (its Job
; Object then ends the stack it started, Redis included, so no /T is needed; Wine's taskkill has
; none), then any `stackdesk-cli` left (e.g. `stackdesk up` run from a console). taskkill is part
; of Windows. Used by stackdesk.nsi and, through tauri-hooks.nsh, by Tauri's NSIS installer.
!macro STACKDESK_STOP_RUNNING
  DetailPrint "Stopping Stackdesk and the processes it started"
  nsExec::Exec '"$SYSDIR\taskkill.exe" /F /IM "stackdesk-desktop.exe"'
  Pop $0
  nsExec::Exec '"$SYSDIR\taskkill.exe" /F /IM "stackdesk-cli.exe"'
  Pop $0
!macroend
