// Linked only when berth links libarchive statically (BERTH_STATIC).
//
// libarchive's pax writer calls one helper, __archive_write_entry_filetype_unsupported, that
// lives in the member (archive_write_set_format.o) holding the table of every write format.
// Linking that member pulls the 7zip, xar, zip, mtree, ... writers and with them libxml2,
// ICU, nettle, liblzma and libbz2, which berth never uses. Defining the helper here keeps
// that member out. berth writes only tar (pax); the helper reports an entry whose file
// type the format cannot store (a socket, say) as an error on the archive.
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>

void __archive_write_entry_filetype_unsupported(struct archive* a, struct archive_entry* entry,
                                                const char* format);

void __archive_write_entry_filetype_unsupported(struct archive* a, struct archive_entry* entry,
                                                const char* format) {
  const char* path = archive_entry_pathname(entry);
  archive_set_error(a, EINVAL, "%s: the %s format cannot store this type of file",
                    path ? path : "(unnamed)", format ? format : "archive");
}
