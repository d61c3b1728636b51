; Inno Setup script: a Windows installer for the one-folder build in dist\roto (written, not run here).
; Build on Windows: packaging\build.sh's PyInstaller line in a Windows venv, then
;   iscc packaging\windows\roto.iss        -> dist\installer\RotoSetup-0.1.0.exe
#define AppVersion "0.1.0"

[Setup]
AppId={{6B2B7C55-8A0F-4C1E-9D55-2F3C1D9E7A10}
AppName=Roto
AppVersion={#AppVersion}
AppPublisher=Roto contributors
DefaultDirName={autopf}\Roto
DefaultGroupName=Roto
OutputDir=..\..\dist\installer
OutputBaseFilename=RotoSetup-{#AppVersion}
Compression=lzma2
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog
ChangesEnvironment=yes

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked
Name: "addtopath"; Description: "Add roto to PATH (for the command line)"; Flags: unchecked

[Files]
; The whole one-folder app; a model bundle dropped into {app}\models is found by the app itself.
Source: "..\..\dist\roto\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Dirs]
Name: "{app}\models"

[Icons]
Name: "{group}\Roto"; Filename: "{app}\roto.exe"; Parameters: "gui"
Name: "{autodesktop}\Roto"; Filename: "{app}\roto.exe"; Parameters: "gui"; Tasks: desktopicon

[Registry]
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; \
    Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\roto.exe"; Parameters: "gui"; Description: "Start Roto"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Paths: string;
begin
  if not RegQueryStringValue(HKEY_CURRENT_USER, 'Environment', 'Path', Paths) then
    Paths := '';
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';') = 0;
end;
