// Package lualib holds the Lua modules shipped inside the spellhost
// binary; scripts load them with require("name").
package lualib

import "embed"

// FS holds the modules: NAME.lua for require("NAME").
//
//go:embed *.lua
var FS embed.FS
